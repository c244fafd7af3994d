-- bury.lua: move a reserved job that cannot be processed (malformed payload) to the queue's
-- dead-letter list, atomically, so it is neither lost nor handed out again.
-- KEYS[1]  reserved ZSET (<ready>:reserved), KEYS[2] dead-letter LIST (<ready>:dead)
-- ARGV[1]  the reserved member (exact bytes), ARGV[2] the bytes to keep (the raw payload)
-- Returns  1 when the reservation was removed and the payload appended to KEYS[2]; 0 when the
--          reservation was no longer there (nothing written).
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('RPUSH', KEYS[2], ARGV[2])
return 1
