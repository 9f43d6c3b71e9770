-- Turn every due burst whose target may build now into a trigger, atomically: a burst is handed
-- to exactly one caller however many claimers run. What keeps a due burst waiting, in order:
--   * its target is paused (keys.PAUSES), unless the burst was asked for with --force: it
--     keeps collecting and is looked at again when the pause ends (`relay resume` re-arms it
--     at once; a pause with an end is lifted here when that time comes);
--   * its target has a build in flight: looked at again later (the move that ends the build
--     re-arms it at once, lua/transition.lua). With `supersede = "cancel"` a build in flight
--     that is BUILDING does not wait: the burst is claimed, the in-flight mark moves to the
--     new trigger and a cancel step is armed for the old one;
--   * a build budget (the target's, then the account's) is used up, unless the burst was
--     asked for with --ignore-budget: it is held until the budget allows.
-- A claimed trigger counts as one build used (keys.builds_used, keys.BUILDS_USED).
-- KEYS[1] due zset  KEYS[2] triggers zset  KEYS[3] steps zset  KEYS[4] pauses hash
-- KEYS[5] account builds-used zset
-- ARGV[1] burst key prefix  ARGV[2] in-flight key prefix  ARGV[3] trigger key prefix
-- ARGV[4] per-target triggers zset prefix  ARGV[5] max claims
-- ARGV[6] recheck delay ms for targets with a build in flight
-- ARGV[7] per-target builds-used zset prefix
-- ARGV[8] JSON policies: {targets = {name = {supersede = bool, budget = [limit, period,
--   start ms, reset ms or 0]}}, account = [limit, period, start, reset] or absent}
-- Returns {claimed trigger ids, held [target, why, until ms, newly (1|0)]..., targets whose
-- timed pause ended}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local policies = cjson.decode(ARGV[8])
local per_target = policies.targets or {}
local account = policies.account
local DAY = 86400000
local out, held, resumed = {}, {}, {}

-- when a budget that is used up allows a build again (nil: it allows one now)
local function exhausted(key, budget)
  if not budget or budget == cjson.null then return nil end
  local limit, period, start, reset = budget[1], budget[2], budget[3], budget[4]
  local used = redis.call('ZCOUNT', key, start, '+inf')
  if used < limit then return nil end
  if period == 'month' then return reset end
  local entry = redis.call('ZRANGEBYSCORE', key, start, '+inf', 'WITHSCORES', 'LIMIT',
    used - limit, 1)
  return tonumber(entry[2]) + DAY
end

local function hold(state, target, why, until_ms)
  local newly = redis.call('HGET', state, 'held') ~= why and 1 or 0
  redis.call('HSET', state, 'held', why, 'held_until', until_ms)
  redis.call('ZADD', KEYS[1], until_ms, target)
  table.insert(held, {target, why, until_ms, newly})
end

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
for _, target in ipairs(due) do
  local state = ARGV[1] .. target
  local policy = per_target[target] or {}
  local waiting = false
  -- a pause
  local pause = redis.call('HGET', KEYS[4], target)
  if pause then
    local ends = tonumber(cjson.decode(pause)['until']) or 0
    if ends > 0 and ends <= now then
      redis.call('HDEL', KEYS[4], target)
      table.insert(resumed, target)
    elseif redis.call('HGET', state, 'force') ~= '1' then
      -- an open-ended pause is looked at hourly as a safety net; resume re-arms it at once
      hold(state, target, 'paused', ends > 0 and ends or now + 3600000)
      waiting = true
    end
  end
  -- a build in flight
  local busy = ARGV[2] .. target
  local previous = nil
  if not waiting and redis.call('EXISTS', busy) == 1 then
    local holder = redis.call('GET', busy)
    local status = redis.call('HGET', ARGV[3] .. holder, 'status')
    if policy.supersede and status == 'building' then
      previous = holder
    else
      -- one build at a time: the burst keeps collecting and is claimed when the build ends
      redis.call('ZADD', KEYS[1], now + tonumber(ARGV[6]), target)
      waiting = true
    end
  end
  -- the budgets
  if not waiting and redis.call('HGET', state, 'ignore_budget') ~= '1' then
    local frees = exhausted(ARGV[7] .. target, policy.budget)
    if frees then
      hold(state, target, 'budget', frees)
      waiting = true
    else
      frees = exhausted(KEYS[5], account)
      if frees then
        hold(state, target, 'account budget', frees)
        waiting = true
      end
    end
  end
  if not waiting then
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
    redis.call('ZADD', ARGV[7] .. target, now, id)
    redis.call('ZADD', KEYS[5], now, id)
    if previous then
      -- the build in flight is cancelled by a step of its own; its trigger records the outcome
      redis.call('HSET', ARGV[3] .. previous, 'superseded_by', id)
      redis.call('ZADD', KEYS[3], now, 'cancel:' .. previous .. ':1')
    end
    table.insert(out, id)
  end
end
return {out, held, resumed}
