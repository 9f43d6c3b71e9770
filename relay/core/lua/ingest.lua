-- use: debounce
-- Record one verified delivery and touch the burst of each of its targets, atomically.
-- KEYS[1] dedupe key   KEYS[2] deliveries stream   KEYS[3] hook's id stream
-- KEYS[4] counts hash  KEYS[5] due zset            KEYS[5+i] burst hash of target i
-- ARGV[1] dedupe ttl ms (0: no dedupe)  ARGV[2] stream cap  ARGV[3] outcome (accepted|ignored)
-- ARGV[4] delivery JSON  ARGV[5] hook name
-- ARGV[6+3(i-1)..] per target: name, debounce ms, max_wait ms
-- Returns {outcome, delivery id}; outcome "duplicate" names the first delivery's id.
local now = server_now()
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  local first_id = redis.call('GET', KEYS[1])
  if first_id then
    local dup = cjson.decode(ARGV[4])
    dup['outcome'] = 'duplicate'
    dup['duplicate_of'] = first_id
    dup['targets'] = {}
    local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'd', cjson.encode(dup))
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'i', id)
    redis.call('HINCRBY', KEYS[4], ARGV[5] .. ':duplicate', 1)
    return {'duplicate', first_id}
  end
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'd', ARGV[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'i', id)
redis.call('HINCRBY', KEYS[4], ARGV[5] .. ':' .. ARGV[3], 1)
if ttl > 0 then
  redis.call('SET', KEYS[1], id, 'PX', ttl)
end
local i = 0
while KEYS[6 + i] do
  local base = 6 + 3 * i
  touch_burst(KEYS[6 + i], KEYS[5], ARGV[base], now, tonumber(ARGV[base + 1]),
    tonumber(ARGV[base + 2]), 'webhooks', id)
  i = i + 1
end
return {ARGV[3], id}
