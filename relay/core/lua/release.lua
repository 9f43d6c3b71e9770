-- Free a target for its next build, but only if this trigger is the one holding it.
-- KEYS[1] in-flight key  ARGV[1] trigger id
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
