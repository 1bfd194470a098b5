-- A job's send slot in a pacing lane (hash: next, lastSent, blockedUntil; all times in ms of the pacer's clock): its
-- reserved one (`reserved`, -1 for none) while valid, else the next free one (never before a 429's Retry-After),
-- advancing the lane's next free slot by one interval.
--
-- KEYS: lane
-- ARGV: now interval reserved ttl
local now = tonumber(ARG.now)
local interval = tonumber(ARG.interval)
local reserved = tonumber(ARG.reserved)
local blocked = tonumber(redis.call('HGET', KEY.lane, 'blockedUntil') or '0')
if reserved >= 0 and reserved >= blocked then return reserved end
local nextFree = tonumber(redis.call('HGET', KEY.lane, 'next') or '0')
local slot = math.max(now, nextFree, blocked)
redis.call('HSET', KEY.lane, 'next', slot + interval)
redis.call('PEXPIRE', KEY.lane, ARG.ttl)
return slot
