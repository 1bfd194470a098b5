-- Creates the run unless its site has an open one (a marker pointing at a run that is not finished). Returns
-- {1, runId} when created, {0, open run id} when the site has one, or {-1, ''} when the marker is no longer the
-- one the caller read (it reads it again and retries).
--
-- The caller reads the marker first to name the open run's key: a key built here from the marker would be one
-- Redis Cluster was not told about. Checking the marker again here keeps the decision atomic.
--
-- KEYS: site run siteRuns runs audit openRun?
-- ARGV: runId data state createdAt terminalStates auditFields openRun
local open = redis.call('HGET', KEY.site, 'openRun')
if (open or '') ~= ARG.openRun then return {-1, ''} end
if open then
  local state = redis.call('HGET', KEY.openRun, 'state')
  if state and not string.find(',' .. ARG.terminalStates .. ',', ',' .. state .. ',', 1, true) then
    return {0, open}
  end
end
redis.call('HSET', KEY.site, 'openRun', ARG.runId)
redis.call('HSET', KEY.run, 'data', ARG.data, 'version', 1, 'state', ARG.state)
redis.call('ZADD', KEY.siteRuns, ARG.createdAt, ARG.runId)
redis.call('ZADD', KEY.runs, ARG.createdAt, ARG.runId)
redis.call('XADD', KEY.audit, 'MAXLEN', '~', 100000, '*', unpack(cjson.decode(ARG.auditFields)))
return {1, ARG.runId}
