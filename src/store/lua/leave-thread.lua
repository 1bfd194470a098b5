-- The reply leaves its thread's order; if it was posted (`markerTtl` not ''), it leaves its marker.
--
-- KEYS: thread reply
-- ARGV: dedupeId markerTtl
if ARG.markerTtl ~= '' then redis.call('SET', KEY.reply, '1', 'PX', ARG.markerTtl) end
redis.call('ZREM', KEY.thread, ARG.dedupeId)
return 1
