-- Saves a game day if its version is still the expected one ('0': creates it, only if it does not exist), keeps the
-- set of open drills (`open` 1: proposed, scheduled or active) and appends the audit entry, in one step, so two
-- workers ticking the same drill cannot both move it. Returns 1, or -1 when the version moved (re-read and decide
-- again).
--
-- KEYS: drill drills audit
-- ARGV: version data id open createdAt auditFields
local version = redis.call('HGET', KEY.drill, 'version')
if ARG.version == '0' then
  if version then return -1 end
elseif version ~= ARG.version then
  return -1
end
redis.call('HSET', KEY.drill, 'data', ARG.data, 'version', tonumber(ARG.version) + 1)
if ARG.open == '1' then
  redis.call('ZADD', KEY.drills, ARG.createdAt, ARG.id)
else
  redis.call('ZREM', KEY.drills, ARG.id)
end
redis.call('XADD', KEY.audit, 'MAXLEN', '~', 100000, '*', unpack(cjson.decode(ARG.auditFields)))
return 1
