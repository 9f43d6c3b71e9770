-- Touch one target's debounce state without a delivery: a schedule tick, `relay deploy`, replay.
-- KEYS[1] burst hash  KEYS[2] due zset
-- ARGV[1] target  ARGV[2] quiet ms  ARGV[3] max wait ms  ARGV[4] reason (kept if the burst is new)
-- Returns the due time (ms).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local first = tonumber(redis.call('HGET', KEYS[1], 'first'))
if not first then
  first = now
  redis.call('HSET', KEYS[1], 'first', now, 'count', 0)
  redis.call('HSET', KEYS[1], 'reason', ARGV[4])
end
redis.call('HSET', KEYS[1], 'last', now)
local due = math.min(now + tonumber(ARGV[2]), first + tonumber(ARGV[3]))
local current = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]))
if current and current < due then due = current end
redis.call('ZADD', KEYS[2], due, ARGV[1])
return due
