-- Whether any firing alert of one notification is new to the run that last got alerts for the site (`lastRun`, read
-- by the caller: not recorded in that run's incident, or firing again since). The caller reads the site's pointer
-- first to name the run's keys (a key built here would be one Redis Cluster was not told about); when the pointer
-- moved meanwhile, the reply is {'retry'} (read again). `firing` holds the firing alerts packed (see
-- record-alerts.lua), or `probe` to ask whether they are needed.
-- Returns {lastRun, 1 when some alert is new, else 0}, {'need-data'} or {'retry'}.
--
-- KEYS: site incident alerts
-- ARGV: lastRun groupKey digest firing
local lastRun = redis.call('HGET', KEY.site, 'lastRun')
if lastRun ~= ARG.lastRun then return {'retry'} end
if redis.call('HGET', KEY.incident, 'digest:' .. ARG.groupKey) == ARG.digest then return {lastRun, 0} end
if ARG.firing == 'probe' then return {'need-data'} end
local batch = {}
local function check()
  if #batch == 0 then return false end
  local fields = {}
  for j = 1, #batch do fields[j] = batch[j][1] end
  local olds = redis.call('HMGET', KEY.alerts, unpack(fields))
  for j = 1, #batch do
    local old = olds[j]
    if not old then return true end
    local sep = string.find(old, '|', 1, true)
    if tonumber(batch[j][2]) > tonumber(string.sub(old, 1, sep - 1)) then return true end
  end
  batch = {}
  return false
end
for fp, start in string.gmatch(ARG.firing, '([^\t\n]+)\t(%d+)\t[fr]\t%d+\n') do
  batch[#batch + 1] = {fp, start}
  if #batch == 1000 and check() then return {lastRun, 1} end
end
if check() then return {lastRun, 1} end
return {lastRun, 0}
