-- Producer side of a status message (hash: channel, text, blocks, version, posted, ts, gen, queued). Stores the
-- newest content, bumps the version and returns {version, generation whose job carries it}; generation 0 when the
-- same content is already posted and nothing is queued. A new generation starts only when no job is waiting
-- (`queued` = 0). A key moved to another channel starts a new message there.
-- A message not yet in Slack takes its place among the channel's new posts (`posts`, scored by arrival; a repeat
-- keeps its place) and records when it was asked for (`askedAt`), so new messages appear in the order asked for.
--
-- KEYS: status posts
-- ARGV: channel text blocks ttl key askedAt
local current = redis.call('HMGET', KEY.status, 'channel', 'text', 'blocks', 'version', 'posted', 'queued')
-- The same content, already posted and nothing queued: no change, no job (callers may publish often).
if current[1] == ARG.channel and current[2] == ARG.text and current[3] == ARG.blocks and current[6] ~= '1'
   and tonumber(current[5] or '0') >= tonumber(current[4] or '0') and tonumber(current[4] or '0') > 0 then
  redis.call('PEXPIRE', KEY.status, ARG.ttl)
  return {tonumber(current[4]), 0}
end
local previous = current[1]
if previous and previous ~= ARG.channel then redis.call('HDEL', KEY.status, 'ts', 'posted') end
redis.call('HSET', KEY.status, 'channel', ARG.channel, 'text', ARG.text, 'blocks', ARG.blocks)
local version = redis.call('HINCRBY', KEY.status, 'version', 1)
local gen
if redis.call('HGET', KEY.status, 'queued') == '1' then
  gen = tonumber(redis.call('HGET', KEY.status, 'gen') or '1')
else
  redis.call('HSET', KEY.status, 'queued', '1')
  gen = redis.call('HINCRBY', KEY.status, 'gen', 1)
end
if not redis.call('HGET', KEY.status, 'ts') and not redis.call('ZSCORE', KEY.posts, ARG.key) then
  local last = redis.call('ZRANGE', KEY.posts, -1, -1, 'WITHSCORES')
  redis.call('ZADD', KEY.posts, (tonumber(last[2]) or 0) + 1, ARG.key)
  redis.call('HSET', KEY.status, 'askedAt', ARG.askedAt)
  redis.call('PEXPIRE', KEY.posts, ARG.ttl)
end
redis.call('PEXPIRE', KEY.status, ARG.ttl)
return {version, gen}
