-- pop.lua: migrate what is due, take the head of the ready list and reserve it, atomically,
-- so no crash or dropped connection can lose a job between the pop and the reservation.
-- KEYS[1]  ready LIST            (queues:NAME / {queues:NAME})
-- KEYS[2]  delayed ZSET          (<ready>:delayed)
-- KEYS[3]  reserved ZSET         (<ready>:reserved)
-- KEYS[4]  (optional) metrics totals HASH (<ready>:metrics), with
-- KEYS[5..] metrics HASHes of single minutes (<ready>:metrics:MINUTE): see ARGV after the acks
-- ARGV[1]  now, unix seconds: members scored <= now are due
-- ARGV[2]  score of the new reservation (now + expire, or now when expiry is off, as stock)
-- ARGV[3]  batch: at most this many members are migrated from each ZSET by one call
-- ARGV[4]  "1": move expired reservations back to the ready list (expire/retry_after not null)
-- ARGV[5]  "1": bump attempts of expired reservations when moving them back (v1 rule)
-- ARGV[6]  "1": the reserved copy carries attempts + 1 (v3 rule); "0": the popped bytes (v1)
-- ARGV[7]  n (absent: 0), then ARGV[8..7+n] members of KEYS[3] to remove first:
--          acknowledgements of finished jobs written behind (RedisQueue::ack), so a worker's
--          delete rides with its next pop; removed before the expired reservations are looked at,
--          so an acknowledged job is never handed out again
-- then, with KEYS[4]: the metrics tally (src/metrics.rs): a TTL in seconds, and for each minute
--          key KEYS[5..] in order a count c followed by c field/increment pairs; each pair is
--          added (HINCRBY) to that minute's hash and to the totals, and the minute's hash expires
--          TTL seconds after this write. pcall: a user whose ACL lacks HINCRBY/EXPIRE (a rule
--          written before metrics existed) still pops; only the metrics are missing
-- Returns  {raw, reserved, spliced} when a job was taken: the popped bytes, the member written to
--          KEYS[3], and 1 if its attempts were bumped by splicing, 0 if it equals raw because raw
--          does not end in "attempts":N} (the caller may then fix the copy up).
--          An integer when nothing is ready: the earliest score in KEYS[2] (and in KEYS[3] when
--          ARGV[4] is "1"), i.e. the unix second something becomes due, or -1 when both are empty;
--          a blocking caller sleeps until then at most.
local acks = tonumber(ARGV[7] or '0')
if acks > 0 then
  redis.call('ZREM', KEYS[3], unpack(ARGV, 8, 7 + acks))
end
if KEYS[4] then
  local i = 8 + acks
  local ttl = ARGV[i]
  i = i + 1
  for k = 5, #KEYS do
    local count = tonumber(ARGV[i])
    i = i + 1
    for _ = 1, count do
      redis.pcall('HINCRBY', KEYS[k], ARGV[i], ARGV[i + 1])
      redis.pcall('HINCRBY', KEYS[4], ARGV[i], ARGV[i + 1])
      i = i + 2
    end
    redis.pcall('EXPIRE', KEYS[k], ttl)
  end
end
local batch = tonumber(ARGV[3])
tqn_migrate(KEYS[2], KEYS[1], ARGV[1], batch, false)
if ARGV[4] == '1' then
  tqn_migrate(KEYS[3], KEYS[1], ARGV[1], batch, ARGV[5] == '1')
end
local raw = redis.call('LPOP', KEYS[1])
if not raw then
  -- rounded up: a member scored 100.5 (not written by think-queue, but possible) is taken once
  -- now reaches 101, and a blocked caller must not spin until then
  local due = -1
  local d = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if d[2] then
    due = math.ceil(tonumber(d[2]))
  end
  if ARGV[4] == '1' then
    local r = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    if r[2] and (due < 0 or math.ceil(tonumber(r[2])) < due) then
      due = math.ceil(tonumber(r[2]))
    end
  end
  return due
end
local reserved, spliced = raw, 0
if ARGV[6] == '1' then
  reserved, spliced = tqn_bump(raw)
end
redis.call('ZADD', KEYS[3], ARGV[2], reserved)
return {raw, reserved, spliced}
