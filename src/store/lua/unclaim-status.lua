-- Gives a status message back to a job of generation `gen` that will run again, unless a newer job exists.
--
-- KEYS: status
-- ARGV: gen
local gen = tonumber(redis.call('HGET', KEY.status, 'gen') or '0')
if tonumber(ARG.gen) == gen then redis.call('HSET', KEY.status, 'queued', '1') return 1 end
return 0
