-- Take due steps (a trigger's next deploy attempt or build poll) under a lease: each is pushed
-- `lease` ms into the future rather than removed, and leased to this caller's token. Its runner
-- renews the lease while the step runs (renew_steps.lua) and the transition that completes the
-- step removes it (transition.lua). A runner that dies stops renewing: the step comes due again
-- when its lease runs out, and another runner takes it over.
-- KEYS[1] steps zset  KEYS[2] step leases hash
-- ARGV[1] max steps  ARGV[2] lease ms  ARGV[3] the caller's token
-- Returns the members taken.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), member)
  redis.call('HSET', KEYS[2], member, ARGV[3])
end
return due
