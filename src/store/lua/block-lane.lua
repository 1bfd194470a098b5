-- A 429 blocks the lane until `blockedUntil`: a later Retry-After extends the block; an earlier one does not
-- shorten it.
--
-- KEYS: lane
-- ARGV: blockedUntil ttl
local untilMs = tonumber(ARG.blockedUntil)
local current = tonumber(redis.call('HGET', KEY.lane, 'blockedUntil') or '0')
if untilMs > current then redis.call('HSET', KEY.lane, 'blockedUntil', untilMs) end
redis.call('PEXPIRE', KEY.lane, ARG.ttl)
return 1
