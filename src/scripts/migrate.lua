-- migrate.lua: move due delayed jobs and expired reservations to the ready list now.
-- KEYS[1]  ready LIST, KEYS[2] delayed ZSET, KEYS[3] reserved ZSET
-- ARGV[1]  now (unix seconds), ARGV[2] batch (max members moved from each ZSET)
-- ARGV[3]  "1": also move expired reservations, ARGV[4] "1": bump their attempts (v1 rule)
-- Returns  {delayed_moved, reserved_moved}
local batch = tonumber(ARGV[2])
local d = tqn_migrate(KEYS[2], KEYS[1], ARGV[1], batch, false)
local r = 0
if ARGV[3] == '1' then
  r = tqn_migrate(KEYS[3], KEYS[1], ARGV[1], batch, ARGV[4] == '1')
end
return {d, r}
