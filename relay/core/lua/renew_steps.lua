-- Renew the leases a live runner holds: each step still leased to this token is pushed `lease`
-- ms into the future again. A step taken over by another runner meanwhile is left alone.
-- KEYS[1] steps zset  KEYS[2] step leases hash  ARGV[1] lease ms  ARGV[2] token  ARGV[3..] steps
-- Returns how many were renewed.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local renewed = 0
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[2] then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
    renewed = renewed + 1
  end
end
return renewed
