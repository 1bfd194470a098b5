-- A start in a request limit shared by every process: at most `limit` starts in any `windowMs` (a sliding window
-- of start times, on Redis's clock, so hosts with skewed clocks agree). Two priorities: a `high` request may take
-- any free start; a `low` one only while more than `reserved` are free and no high request is waiting. A high
-- request that finds none free claims a place among the waiters (member `member`, lapsing `claimMs` from now, so
-- a process that dies stops holding low requests back); it gives up its claim when it starts.
--
-- A start is recorded `holdMs` in the future: it stays in the window while its request is in flight, however long
-- that takes, until finish-rate-slot.lua moves it to when the answer came (a process that dies mid-request holds
-- it for `holdMs` and a window).
--
-- Returns {1, now} when the request may start (its start recorded as `member`), else {0, ms to wait}.
--
-- KEYS: starts waiting
-- ARGV: limit reserved windowMs priority member claimMs holdMs
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local limit = tonumber(ARG.limit)
local window = tonumber(ARG.windowMs)
redis.call('ZREMRANGEBYSCORE', KEY.starts, '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEY.waiting, '-inf', now)
local used = redis.call('ZCARD', KEY.starts)

local hold = tonumber(ARG.holdMs)

-- ms until fewer than `n` starts are in the window: the oldest start that must leave it, plus the window. A start
-- still in flight may be answered any moment: look again soon.
local function untilBelow(n)
  if used < n then return 0 end
  local entry = redis.call('ZRANGE', KEY.starts, used - n, used - n, 'WITHSCORES')
  local at = tonumber(entry[2])
  if at > now then return 50 end
  return math.max(1, at + window - now)
end

local function start()
  redis.call('ZADD', KEY.starts, now + hold, ARG.member)
  redis.call('PEXPIRE', KEY.starts, window * 2 + hold)
  return {1, now}
end

if ARG.priority == 'high' then
  if used < limit then
    redis.call('ZREM', KEY.waiting, ARG.member)
    return start()
  end
  redis.call('ZADD', KEY.waiting, now + tonumber(ARG.claimMs), ARG.member)
  redis.call('PEXPIRE', KEY.waiting, tonumber(ARG.claimMs))
  return {0, untilBelow(limit)}
end

local cap = limit - tonumber(ARG.reserved)
local waiting = redis.call('ZCARD', KEY.waiting)
if waiting == 0 and used < cap then return start() end
-- Behind a waiting high request: retry a little after the next start frees, which that request takes first.
local wait = untilBelow(cap)
if waiting > 0 then wait = math.max(wait, untilBelow(limit) + 20) end
return {0, wait}
