-- Turn every due burst whose target has no build in flight into a trigger, atomically: a burst
-- is handed to exactly one caller however many claimers run. A due burst whose target is busy
-- is looked at again later; the move that ends the build in flight re-arms it at once
-- (lua/transition.lua), so it is claimed right after that build.
-- KEYS[1] due zset  KEYS[2] triggers zset  KEYS[3] timers zset
-- ARGV[1] burst key prefix  ARGV[2] in-flight key prefix  ARGV[3] trigger key prefix
-- ARGV[4] per-target triggers zset prefix  ARGV[5] max claims
-- ARGV[6] recheck delay ms for targets with a build in flight
-- Returns the new trigger ids.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
for _, target in ipairs(due) do
  local busy = ARGV[2] .. target
  if redis.call('EXISTS', busy) == 1 then
    -- one build at a time: the burst keeps collecting and is claimed when the build ends
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[6]), target)
  else
    local state = ARGV[1] .. target
    local first = tonumber(redis.call('HGET', state, 'first') or now)
    local id = target .. '-' .. first
    while redis.call('EXISTS', ARGV[3] .. id) == 1 do  -- a burst begun in the same ms as one before
      first = first + 1
      id = target .. '-' .. first
    end
    redis.call('HSET', ARGV[3] .. id,
      'id', id, 'target', target, 'reason', redis.call('HGET', state, 'reason') or 'webhooks',
      'status', 'queued', 'first_at', first,
      'last_at', redis.call('HGET', state, 'last') or first,
      'deliveries', redis.call('HGET', state, 'count') or '0',
      'created_at', now, 'attempts', 0, 'step', 'deploy:' .. id .. ':1')
    local last_delivery = redis.call('HGET', state, 'last_delivery')
    if last_delivery then redis.call('HSET', ARGV[3] .. id, 'last_delivery', last_delivery) end
    redis.call('DEL', state)
    redis.call('ZREM', KEYS[1], target)
    redis.call('SET', busy, id)  -- freed by the trigger's final transition, or by the reaper
    redis.call('ZADD', KEYS[2], now, id)
    redis.call('ZADD', ARGV[4] .. target, now, id)
    redis.call('ZADD', KEYS[3], now, 'deploy:' .. id .. ':1')
    table.insert(out, id)
  end
end
return out
