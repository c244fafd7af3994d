-- retry_dead.lua: move jobs of the dead-letter list back to the tail of the ready list, head
-- first, with attempts reset to the generation's initial value (think-queue's queue:retry resets
-- it too). Payloads that do not end in "attempts":N} (hand-written ones) move as they are.
-- KEYS[1]  dead-letter LIST (<ready>:dead), KEYS[2] ready LIST
-- ARGV[1]  batch (max jobs moved), ARGV[2] initial attempts (v1 1, v3 0)
-- ARGV[3]  (optional) one member: move just that one (its first occurrence), if it is there
-- Returns  how many were moved.
local jobs
if ARGV[3] then
  if redis.call('LREM', KEYS[1], 1, ARGV[3]) == 0 then
    return 0
  end
  jobs = {ARGV[3]}
else
  jobs = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
  if #jobs == 0 then
    return 0
  end
  redis.call('LTRIM', KEYS[1], #jobs, -1)
end
local n = #jobs
local initial = tonumber(ARGV[2])
local function reset()
  return initial
end
for i = 1, n do
  jobs[i] = tqn_set(jobs[i], reset)
end
redis.call('RPUSH', KEYS[2], unpack(jobs))
return n
