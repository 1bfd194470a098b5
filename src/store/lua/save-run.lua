-- Saves a run if its version is still the expected one and, for workers, if the BullMQ job lock (`lock`, absent
-- without a lease) still holds their token. Releases the site's open-run marker on a terminal state (`terminal` 1),
-- records the serving cluster on success (`serving`, '' otherwise; with the run and its kind, which the cooldown
-- reads), appends the audit entry, and writes the finished
-- run's report (`reportData`, '' when none) unless one exists: the first final save is the report, once.
-- Returns 1, or -1 version conflict, -2 lease lost, -3 missing.
--
-- KEYS: run site audit report lock?
-- ARGV: version data token state terminal runId serving servingSince servingKind auditFields reportData
if KEY.lock and redis.call('GET', KEY.lock) ~= ARG.token then return -2 end
local version = redis.call('HGET', KEY.run, 'version')
if not version then return -3 end
if version ~= ARG.version then return -1 end
redis.call('HSET', KEY.run, 'data', ARG.data, 'version', tonumber(ARG.version) + 1, 'state', ARG.state)
if ARG.terminal == '1' and redis.call('HGET', KEY.site, 'openRun') == ARG.runId then
  redis.call('HDEL', KEY.site, 'openRun')
end
if ARG.serving ~= '' then
  redis.call('HSET', KEY.site, 'serving', ARG.serving, 'servingSince', ARG.servingSince, 'servingRun', ARG.runId,
    'servingKind', ARG.servingKind)
end
if ARG.reportData ~= '' then redis.call('SET', KEY.report, ARG.reportData, 'NX') end
redis.call('XADD', KEY.audit, 'MAXLEN', '~', 100000, '*', unpack(cjson.decode(ARG.auditFields)))
return 1
