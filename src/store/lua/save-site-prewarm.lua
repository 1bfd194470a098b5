-- Saves an evacuation site's pre-warm record if its version is still the expected one ('0': creates it, only if it
-- does not exist), and appends the audit entry (`auditFields`, '' for none) in the same step. Returns 1, or -1 when
-- the version moved (re-read and decide again).
--
-- KEYS: record audit
-- ARGV: version data auditFields
local version = redis.call('HGET', KEY.record, 'version') or '0'
if version ~= ARG.version then return -1 end
redis.call('HSET', KEY.record, 'data', ARG.data, 'version', tonumber(ARG.version) + 1)
if ARG.auditFields ~= '' then
  redis.call('XADD', KEY.audit, 'MAXLEN', '~', 100000, '*', unpack(cjson.decode(ARG.auditFields)))
end
return 1
