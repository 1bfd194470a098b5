-- Worker side of a status message, just before posting. A job of an older generation is superseded; otherwise the
-- job takes the key (`queued` = 0, so the next update starts a new job) and reads the newest content.
--
-- KEYS: status
-- ARGV: gen
local gen = tonumber(redis.call('HGET', KEY.status, 'gen') or '0')
if gen == 0 then return {'missing'} end
if tonumber(ARG.gen) < gen then return {'superseded'} end
redis.call('HSET', KEY.status, 'queued', '0')
local f = redis.call('HMGET', KEY.status, 'channel', 'text', 'blocks', 'version', 'posted', 'ts')
return {'claimed', f[1] or '', f[2] or '', f[3] or '', f[4] or '0', f[5] or '0', f[6] or ''}
