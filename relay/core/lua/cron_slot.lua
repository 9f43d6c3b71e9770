-- Decide one cron slot of one target, exactly once however many workers look at it.
-- KEYS[1] slot mark (string)  KEYS[2] the target's schedule state (hash)
-- ARGV[1] slot (Unix s)  ARGV[2] mark ttl (s)  ARGV[3] outcome: "fired" | "missed"
-- ARGV[4] now (ms)  ARGV[5] next slot (Unix s)  ARGV[6] earlier slots skipped (count)
-- Returns 1 when this caller decided the slot (and must act on it), else 0.
local slot = tonumber(ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[2], 'last_slot') or '0')
if last >= slot then
  return 0  -- this slot, or a later one, was decided before (the high-water mark survives TTLs)
end
if not redis.call('SET', KEYS[1], ARGV[3], 'NX', 'EX', tonumber(ARGV[2])) then
  return 0
end
redis.call('HSET', KEYS[2], 'last_slot', slot, 'next_slot', ARGV[5], 'checked_at', ARGV[4])
if ARGV[3] == 'fired' then
  redis.call('HSET', KEYS[2], 'last_fired', slot, 'fired_at', ARGV[4])
else
  redis.call('HSET', KEYS[2], 'last_missed', slot)
end
local skipped = tonumber(ARGV[6])
if ARGV[3] == 'missed' then skipped = skipped + 1 end
if skipped > 0 then
  redis.call('HINCRBY', KEYS[2], 'missed', skipped)
end
return 1
