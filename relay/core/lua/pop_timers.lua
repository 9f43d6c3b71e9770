-- Take the due timers under a lease: each is pushed `lease` ms into the future rather than
-- removed, and the caller removes it once its RQ job is enqueued. A caller that dies in between
-- leaves the timer to come due again; the job's unique id makes the second enqueue a no-op.
-- KEYS[1] timers zset  ARGV[1] max  ARGV[2] lease ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), member)
end
return due
