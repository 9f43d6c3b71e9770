-- use: debounce
-- Touch one target's burst without a delivery: `relay deploy`, replay, the dashboard and API,
-- cron ticks. The same rule as webhooks (lib/debounce.lua).
-- KEYS[1] burst hash  KEYS[2] due zset
-- ARGV[1] target  ARGV[2] quiet ms  ARGV[3] max wait ms  ARGV[4] reason (kept if the burst is new)
-- ARGV[5] flags the burst carries until it is claimed, comma-separated: "force" (build even if
--   the target is paused), "ignore_budget" (build even past its budget)
-- Returns the due time (ms).
local due = touch_burst(KEYS[1], KEYS[2], ARGV[1], server_now(), tonumber(ARGV[2]),
  tonumber(ARGV[3]), ARGV[4], nil)
for flag in string.gmatch(ARGV[5] or '', '[^,]+') do
  redis.call('HSET', KEYS[1], flag, '1')
end
return due
