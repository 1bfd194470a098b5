-- Creates an evacuation unless its cluster has an open one (the marker is not the one the caller read: {-1, id},
-- the caller reads it again) or this firing of an alert already proposed one ({0, that id}). Returns {1, id}.
--
-- KEYS: evacuation open alert?
-- ARGV: id data expectedOpen alertTtlMs
if KEY.alert then
  local proposed = redis.call('GET', KEY.alert)
  if proposed then return {0, proposed} end
end
local open = redis.call('GET', KEY.open) or ''
if open ~= ARG.expectedOpen then return {-1, open} end
redis.call('SET', KEY.open, ARG.id)
redis.call('HSET', KEY.evacuation, 'data', ARG.data, 'version', 1)
if KEY.alert then redis.call('SET', KEY.alert, ARG.id, 'PX', ARG.alertTtlMs) end
return {1, ARG.id}
