-- Opens or widens the site's fence debt (a debt is never narrowed here: only the reconciler pays parts of it), only
-- while the BullMQ job lock (`lock`, absent without a lease) holds the worker's token, with its audit entry.
-- Returns 1, or -2 lease lost.
--
-- KEYS: site debts audit lock?
-- ARGV: siteName debt token auditFields
if KEY.lock and redis.call('GET', KEY.lock) ~= ARG.token then return -2 end
local incoming = cjson.decode(ARG.debt)
local raw = redis.call('HGET', KEY.site, 'fenceDebt')
if raw then
  local open = cjson.decode(raw)
  open.database = open.database or incoming.database
  open.workloads = open.workloads or incoming.workloads
  if open.runId ~= incoming.runId or not string.find(open.reason, incoming.reason, 1, true) then
    open.reason = open.reason .. '; ' .. incoming.reason
  end
  open.runId = incoming.runId
  open.nextAttemptAt = incoming.nextAttemptAt
  incoming = open
end
redis.call('HSET', KEY.site, 'fenceDebt', cjson.encode(incoming))
redis.call('SADD', KEY.debts, ARG.siteName)
redis.call('XADD', KEY.audit, 'MAXLEN', '~', 100000, '*', unpack(cjson.decode(ARG.auditFields)))
return 1
