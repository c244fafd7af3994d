-- lib.lua: helpers prepended to every think-queue-native script (not a script of its own).
-- Defines:
--   tqn_set(p, f) -> p', changed: p with its trailing "attempts":N} replaced by f(N), and 1;
--                    or p unchanged and 0 when p does not end that way (hand-written payloads).
--   tqn_bump(p)   -> tqn_set(p, N + 1).
--                    Splicing keeps every other byte (key order, [] vs {}, float digits) as written;
--                    cjson is never used.
--   tqn_migrate(from, ready, now, batch, bump) -> moved: moves at most `batch` members of ZSET
--                    `from` whose score <= now to the tail of LIST `ready`, ascending score order,
--                    bumping attempts when bump is true. Returns how many were moved.

local function tqn_set(p, f)
  -- only the last 26 bytes can hold a match worth taking ('"attempts":' + at most 13 digits +
  -- '}' + the byte before): searching just there is ~10x cheaper than scanning the payload
  local from = #p - 25
  if from < 1 then
    from = 1
  end
  local s, _, n = string.find(p, '"attempts":(%d+)}$', from)
  if not s or #n > 13 then
    return p, 0
  end
  local before = string.sub(p, s - 1, s - 1)
  if before ~= ',' and before ~= '{' then
    return p, 0
  end
  return string.sub(p, 1, s - 1) .. '"attempts":' .. string.format('%d', f(tonumber(n))) .. '}', 1
end

local function tqn_plus_one(n)
  return n + 1
end

local function tqn_bump(p)
  return tqn_set(p, tqn_plus_one)
end

local function tqn_migrate(from, ready, now, batch, bump)
  local due = redis.call('ZRANGEBYSCORE', from, '-inf', now, 'LIMIT', 0, batch)
  local n = #due
  if n == 0 then
    return 0
  end
  redis.call('ZREM', from, unpack(due))
  if bump then
    for i = 1, n do
      due[i] = tqn_bump(due[i])
    end
  end
  redis.call('RPUSH', ready, unpack(due))
  return n
end
