-- swap_reserved.lua: replace a reserved member by another one, keeping its score, atomically.
-- Used after pop when the reserved copy could not be spliced in Lua (payload not ending in
-- "attempts":N}) and the client computed the stock copy itself.
-- KEYS[1]  reserved ZSET
-- ARGV[1]  the member now in KEYS[1], ARGV[2] its replacement
-- Returns  1 when swapped, 0 when ARGV[1] was not (or no longer) in KEYS[1]
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], score, ARGV[2])
return 1
