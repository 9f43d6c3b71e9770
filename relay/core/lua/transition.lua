-- Move one trigger to its next state in one atomic step: the new fields, the step it completes
-- and the one it arms, the release of its target, the failed set and the build counters
-- together, so no crash between two writes can leave a trigger half-moved.
-- KEYS[1] trigger hash  KEYS[2] the target's in-flight key  KEYS[3] failed zset
-- KEYS[4] build counts hash  KEYS[5] steps zset  KEYS[6] step leases hash  KEYS[7] due zset
-- KEYS[8] the target's burst hash
-- ARGV[1] trigger id  ARGV[2] the status it must have now ("*": any, for a lost record whose
--   step lease is the guard)
-- ARGV[3] JSON {set = {field = text}, del = [field], done = step, lease = token,
--               arm = [step, delay ms], release = bool, failed = "add"|"remove"|"",
--               count = "<target>:<status>"|"", target = name}
-- The trigger's `step` field names its pending step (the one armed), so the reaper can tell a
-- trigger whose step was lost.
-- Returns 1 when applied; 0 when the trigger is not in the expected state, or the step being
-- completed is no longer leased to this caller (another worker took it over): nothing changed.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local move = cjson.decode(ARGV[3])
if ARGV[2] ~= '*' and redis.call('HGET', KEYS[1], 'status') ~= ARGV[2] then
  return 0
end
if move.done and move.done ~= '' then
  if redis.call('HGET', KEYS[6], move.done) ~= move.lease then return 0 end
  redis.call('ZREM', KEYS[5], move.done)
  redis.call('HDEL', KEYS[6], move.done)
end
local set = {}
for field, value in pairs(move.set or {}) do
  table.insert(set, field)
  table.insert(set, value)
end
if #set > 0 then redis.call('HSET', KEYS[1], unpack(set)) end
if move.del and #move.del > 0 then redis.call('HDEL', KEYS[1], unpack(move.del)) end
if move.arm and move.arm ~= cjson.null then
  redis.call('ZADD', KEYS[5], now + tonumber(move.arm[2]), move.arm[1])
  redis.call('HSET', KEYS[1], 'step', move.arm[1])
elseif move.done and move.done ~= '' and redis.call('HGET', KEYS[1], 'step') == move.done then
  redis.call('HDEL', KEYS[1], 'step')
end
if move.failed == 'add' then
  redis.call('ZADD', KEYS[3], now, ARGV[1])
elseif move.failed == 'remove' then
  redis.call('ZREM', KEYS[3], ARGV[1])
end
if move.count and move.count ~= '' then redis.call('HINCRBY', KEYS[4], move.count, 1) end
if move.release and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  -- the burst that collected during the build is due at its own time again (at once if that
  -- has passed): the claim had put it off while the target was busy
  local due = redis.call('HGET', KEYS[8], 'due')
  if due then
    redis.call('ZADD', KEYS[7], tonumber(due), move.target)
  end
end
return 1
