-- Complete a step that belongs to no trigger (a notice's sending), and arm its next attempt:
-- applied only while the caller still holds the step's lease, like transition.lua.
-- KEYS[1] steps zset  KEYS[2] step leases hash
-- ARGV[1] the step  ARGV[2] the caller's lease token  ARGV[3] the next step ("" for none)
-- ARGV[4] its delay (ms)
-- Returns 1 when applied, 0 when the lease was taken over meanwhile.
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[3] ~= '' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
end
return 1
