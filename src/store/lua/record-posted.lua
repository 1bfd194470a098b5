-- Records that `version` of a status message is in Slack, and the message's `ts` ('' when unchanged).
--
-- KEYS: status
-- ARGV: version ts
if redis.call('EXISTS', KEY.status) == 0 then return 0 end
local posted = tonumber(redis.call('HGET', KEY.status, 'posted') or '0')
if tonumber(ARG.version) > posted then redis.call('HSET', KEY.status, 'posted', ARG.version) end
if ARG.ts ~= '' then redis.call('HSET', KEY.status, 'ts', ARG.ts) end
return 1
