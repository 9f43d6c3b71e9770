-- use: debounce
-- Record one verified delivery and touch the burst of each of its targets, atomically.
--
-- Dedupe: a delivery is a duplicate of an earlier one when one of its tokens was seen:
--   "seen" tokens (the sender's delivery id, a signature over a timestamp) within their ttl;
--   "pending" tokens (the body's digest, for senders without ids) only while every burst the
--   earlier delivery joined is still pending: the same body after its burst was claimed is a
--   new change (an editor publishing the same entry again) and builds.
--
-- KEYS[1..d] dedupe keys, then: deliveries stream, the hook's id stream, counts hash, due zset,
--   and the burst hash of each target touched
-- ARGV[1] d  ARGV[2] stream cap  ARGV[3] outcome (accepted | ignored | rejected)
-- ARGV[4] delivery JSON  ARGV[5] hook name
-- ARGV[6 .. 5+2d] per dedupe key: ttl ms, mode ("seen" | "pending")
-- then per target touched: name, quiet ms, max wait ms
-- Returns {outcome, delivery id}; outcome "duplicate" names the first delivery's id.
local d = tonumber(ARGV[1])
local stream, hook_stream, counts, due = KEYS[d + 1], KEYS[d + 2], KEYS[d + 3], KEYS[d + 4]
local first_target = 6 + 2 * d
local now = server_now()

-- the bursts of the targets touched: name -> burst key
local bursts, names = {}, {}
local i = 0
while KEYS[d + 5 + i] do
  local name = ARGV[first_target + 3 * i]
  bursts[name] = KEYS[d + 5 + i]
  table.insert(names, name)
  i = i + 1
end

local function duplicate_of(k)
  local value = redis.call('GET', KEYS[k])
  if not value then return nil end
  if ARGV[5 + 2 * k] == 'seen' then return value end
  local id, joined = string.match(value, '^([^|]*)|?(.*)$')
  for name, first in string.gmatch(joined, '([^=,]+)=([^,]+)') do
    local burst = bursts[name]
    if not burst or redis.call('HGET', burst, 'first') ~= first then return nil end
  end
  return id
end

for k = 1, d do
  local first_id = duplicate_of(k)
  if first_id then
    local dup = cjson.decode(ARGV[4])
    dup['outcome'] = 'duplicate'
    dup['duplicate_of'] = first_id
    dup['targets'] = {}
    local id = redis.call('XADD', stream, 'MAXLEN', '~', ARGV[2], '*', 'd', cjson.encode(dup))
    redis.call('XADD', hook_stream, 'MAXLEN', '~', ARGV[2], '*', 'i', id)
    redis.call('HINCRBY', counts, ARGV[5] .. ':duplicate', 1)
    return {'duplicate', first_id}
  end
end

local id = redis.call('XADD', stream, 'MAXLEN', '~', ARGV[2], '*', 'd', ARGV[4])
redis.call('XADD', hook_stream, 'MAXLEN', '~', ARGV[2], '*', 'i', id)
redis.call('HINCRBY', counts, ARGV[5] .. ':' .. ARGV[3], 1)
local joined = {}
for j, name in ipairs(names) do
  local base = first_target + 3 * (j - 1)
  local _, first = touch_burst(bursts[name], due, name, now, tonumber(ARGV[base + 1]),
    tonumber(ARGV[base + 2]), 'webhooks', id)
  table.insert(joined, name .. '=' .. first)
end
for k = 1, d do
  local value = id
  if ARGV[5 + 2 * k] == 'pending' then value = id .. '|' .. table.concat(joined, ',') end
  redis.call('SET', KEYS[k], value, 'PX', tonumber(ARGV[4 + 2 * k]))
end
return {ARGV[3], id}
