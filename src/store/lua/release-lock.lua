-- Releases a lock only for its holder (a holder that overran its lock must not free another's).
--
-- KEYS: lock
-- ARGV: holder
if redis.call('GET', KEY.lock) == ARG.holder then return redis.call('DEL', KEY.lock) end
return 0
