-- The last check before a send: a slot is reserved ahead of time, and a job that started late would otherwise send
-- closer than one interval after the send before it. Records the send (returns 0), or returns a fresh slot to wait
-- for.
--
-- KEYS: lane
-- ARGV: now interval ttl
local now = tonumber(ARG.now)
local interval = tonumber(ARG.interval)
local last = tonumber(redis.call('HGET', KEY.lane, 'lastSent') or '0')
local blocked = tonumber(redis.call('HGET', KEY.lane, 'blockedUntil') or '0')
local earliest = math.max(last + interval, blocked)
if now >= earliest then
  redis.call('HSET', KEY.lane, 'lastSent', now)
  redis.call('PEXPIRE', KEY.lane, ARG.ttl)
  return 0
end
local nextFree = tonumber(redis.call('HGET', KEY.lane, 'next') or '0')
local slot = math.max(earliest, nextFree)
redis.call('HSET', KEY.lane, 'next', slot + interval)
return slot
