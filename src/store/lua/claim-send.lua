-- The last check before a send: a slot is reserved ahead of time, and a job that started late would otherwise send
-- closer than one interval after the send before it. Records the send (returns 0), or returns a fresh slot to wait
-- for. A send holds the lane until it is answered (finish-send.lua), or for `hold` ms at most (its worker died):
-- Slack counts a message when it arrives, which may be well after its claim on a busy worker, so the next send is
-- let go one interval after the answer, never only after the claim.
--
-- KEYS: lane
-- ARGV: now interval ttl hold
local now = tonumber(ARG.now)
local interval = tonumber(ARG.interval)
local last = tonumber(redis.call('HGET', KEY.lane, 'lastSent') or '0')
local blocked = tonumber(redis.call('HGET', KEY.lane, 'blockedUntil') or '0')
local sending = tonumber(redis.call('HGET', KEY.lane, 'sendingUntil') or '0')
local earliest = math.max(last + interval, blocked)
if sending > now then earliest = math.max(earliest, now + math.ceil(interval / 4)) end
if now >= earliest then
  redis.call('HSET', KEY.lane, 'lastSent', now, 'sendingUntil', now + tonumber(ARG.hold))
  redis.call('PEXPIRE', KEY.lane, ARG.ttl)
  return 0
end
local nextFree = tonumber(redis.call('HGET', KEY.lane, 'next') or '0')
local slot = math.max(earliest, nextFree)
redis.call('HSET', KEY.lane, 'next', slot + interval)
return slot
