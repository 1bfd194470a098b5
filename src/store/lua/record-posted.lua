-- Records that `version` of a status message is in Slack, and the message's `ts` ('' when unchanged). A message
-- posted anew leaves its channel's new posts (`posts`, when given), so the next one may go.
--
-- KEYS: status posts?
-- ARGV: version ts key
if redis.call('EXISTS', KEY.status) == 0 then return 0 end
local posted = tonumber(redis.call('HGET', KEY.status, 'posted') or '0')
if tonumber(ARG.version) > posted then redis.call('HSET', KEY.status, 'posted', ARG.version) end
if ARG.ts ~= '' then
  redis.call('HSET', KEY.status, 'ts', ARG.ts)
  redis.call('HDEL', KEY.status, 'askedAt')
  if KEY.posts then redis.call('ZREM', KEY.posts, ARG.key) end
end
return 1
