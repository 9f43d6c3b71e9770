-- The one debounce rule, shared by every script that touches a target's burst (ingest for
-- webhooks; touch for `relay deploy`, replay, the dashboard, the API and cron ticks).
--
-- A burst is due at min(last touch + quiet, deadline). Its deadline is first touch + max_wait,
-- and a touch can only move it earlier (to now + its own max_wait): the quiet period restarts
-- with every touch, but no touch ever pushes a deadline later. `relay deploy --now` touches
-- with quiet 0 and max_wait 0, so the burst is due at once and stays due at once while
-- webhooks keep joining it (even while a build of the target is in flight).
-- The burst hash keeps first, last, deadline and due (ms), count (deliveries), reason (what
-- started it), last_delivery.

local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Returns the burst's due time and its first touch (ms). Three Redis calls for a delivery
-- (HMGET, HSET, ZADD; HINCRBY too when it joins a burst): the ingest script runs this for every
-- webhook, inside the time the sender waits.
local function touch_burst(burst, due_zset, target, now, quiet, max_wait, reason, delivery)
  local got = redis.call('HMGET', burst, 'first', 'deadline')
  local first, deadline = tonumber(got[1]), tonumber(got[2])
  local fields, new = {}, not first
  if new then
    first = now
    deadline = now + max_wait
    fields = {'first', now, 'reason', reason, 'count', delivery and 1 or 0}
  elseif not deadline or now + max_wait < deadline then
    deadline = math.min(deadline or (first + max_wait), now + max_wait)
  end
  local due = math.min(now + quiet, deadline)
  table.insert(fields, 'last'); table.insert(fields, now)
  table.insert(fields, 'deadline'); table.insert(fields, deadline)
  table.insert(fields, 'due'); table.insert(fields, due)
  if delivery then
    table.insert(fields, 'last_delivery'); table.insert(fields, delivery)
  end
  redis.call('HSET', burst, unpack(fields))
  if delivery and not new then
    redis.call('HINCRBY', burst, 'count', 1)
  end
  redis.call('ZADD', due_zset, due, target)
  return due, first
end
