-- Puts a text reply in its thread's order (as join-thread does) and keeps its content, so the reply whose send
-- slot comes first can carry it. Nothing when it was posted already, alone (marker) or within another's message.
-- Returns 1, or 0 when posted.
--
-- KEYS: thread reply posted bodies
-- ARGV: askedAt dedupeId body ttl
if redis.call('EXISTS', KEY.reply) == 1 then return 0 end
if redis.call('HEXISTS', KEY.posted, ARG.dedupeId) == 1 then return 0 end
redis.call('ZADD', KEY.thread, 'NX', ARG.askedAt, ARG.dedupeId)
redis.call('PEXPIRE', KEY.thread, ARG.ttl)
redis.call('HSETNX', KEY.bodies, ARG.dedupeId, ARG.body)
redis.call('PEXPIRE', KEY.bodies, ARG.ttl)
return 1
