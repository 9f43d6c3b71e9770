-- use: debounce
-- Fire the scheduled deploys (`relay deploy --at`) that are due, exactly once however many
-- workers call this: each is taken off the schedule and joins its target's burst at once (as
-- `relay deploy --now`) in the same step, so none is lost or fired twice.
-- KEYS[1] scheduled zset  KEYS[2] due zset
-- ARGV[1] scheduled hash prefix  ARGV[2] burst key prefix  ARGV[3] max  ARGV[4] keep ms (the
--   fired record is kept this long, for `relay scheduled`)
-- Returns the ids fired.
local now = server_now()
local fired = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0,
    tonumber(ARGV[3]))) do
  redis.call('ZREM', KEYS[1], id)
  local record = ARGV[1] .. id
  local target = redis.call('HGET', record, 'target')
  if target then
    local reason = redis.call('HGET', record, 'reason') or ('scheduled deploy ' .. id)
    touch_burst(ARGV[2] .. target, KEYS[2], target, now, 0, 0, reason, nil)
    for _, flag in ipairs({'force', 'ignore_budget'}) do
      if redis.call('HGET', record, flag) == '1' then
        redis.call('HSET', ARGV[2] .. target, flag, '1')
      end
    end
    redis.call('HSET', record, 'status', 'fired', 'fired_at', now)
    redis.call('PEXPIRE', record, tonumber(ARGV[4]))
    table.insert(fired, id)
  end
end
return fired
