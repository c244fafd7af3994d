-- release.lua: hand a reserved job back for a later attempt, atomically.
-- KEYS[1]  reserved ZSET, KEYS[2] delayed ZSET
-- ARGV[1]  the reserved member (exact bytes), ARGV[2] due time (unix seconds),
-- ARGV[3]  the member to delay (attempts already set by the caller's dialect rule)
-- Returns  1 when the reservation was removed and the job added to KEYS[2]; 0 when the reservation
--          was no longer there (it expired and was migrated back, or was deleted): nothing is
--          added then, so a job is never duplicated by a late release.
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
