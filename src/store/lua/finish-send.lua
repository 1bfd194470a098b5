-- A send claimed in the lane was answered (or failed): the lane's interval runs from now, and the lane is free.
--
-- KEYS: lane
-- ARGV: now ttl
local now = tonumber(ARG.now)
local last = tonumber(redis.call('HGET', KEY.lane, 'lastSent') or '0')
if now > last then redis.call('HSET', KEY.lane, 'lastSent', now) end
redis.call('HDEL', KEY.lane, 'sendingUntil')
redis.call('PEXPIRE', KEY.lane, ARG.ttl)
return 1
