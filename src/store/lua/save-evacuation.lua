-- Saves an evacuation if its version is still the expected one; with `release` 1, also frees its cluster's open
-- marker when it still names this evacuation. Returns 1, -1 version conflict, -3 missing.
--
-- KEYS: evacuation open
-- ARGV: version data id release
local version = redis.call('HGET', KEY.evacuation, 'version')
if not version then return -3 end
if version ~= ARG.version then return -1 end
redis.call('HSET', KEY.evacuation, 'data', ARG.data, 'version', tonumber(ARG.version) + 1)
if ARG.release == '1' and redis.call('GET', KEY.open) == ARG.id then redis.call('DEL', KEY.open) end
return 1
