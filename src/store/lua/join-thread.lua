-- Puts a thread reply in its thread's order (the thread's sorted set of waiting dedupeIds, by when each was asked
-- for), unless it was posted already (its marker exists). Returns 1, or 0 when posted.
--
-- KEYS: thread reply
-- ARGV: askedAt dedupeId ttl
if redis.call('EXISTS', KEY.reply) == 1 then return 0 end
redis.call('ZADD', KEY.thread, 'NX', ARG.askedAt, ARG.dedupeId)
redis.call('PEXPIRE', KEY.thread, ARG.ttl)
return 1
