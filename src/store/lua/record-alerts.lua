-- Applies one Alertmanager notification's alerts to an incident record, so duplicates from Alertmanager replicas,
-- retries and out-of-order deliveries converge on the same state: an alert's newest episode wins (a later
-- `startsAt`), and within one episode "resolved" beats "firing". Reports transitions (firing -> all resolved and
-- back) and leaves a `pending` marker that the caller clears once it has acted on them.
--
-- `mode` is `run` (the record of run `id`; `onlyIfKnown` 1 drops alerts for a run that has no record yet) or
-- `notify` (the site's open notice, opened when an alert fires and none is: `anyFiring` 1). In notify mode the
-- caller reads the site's `open` pointer and the notice sequence first and passes the notice that will be written
-- as `id` (the open one, or the next number) with its keys: a key built here from the pointer would be one Redis
-- Cluster was not told about. The pointer is checked again here, so the decision stays atomic; when another
-- delivery opened or closed the notice meanwhile, nothing is written and the reply is {'retry'} (read again).
--
-- `packed` holds the alerts, a line each (`fingerprint<TAB>startsAt<TAB>f|r<TAB>endsAt`); `names` is
-- newline-separated.
-- `phase` `probe` asks whether the alerts are needed (they are not sent then), `data` sends them.
-- Returns {'need-data'} when the group's last notification differs and no alerts were sent, {'none'} when nothing
-- was recorded, {'retry'}, else {id, transition, changed, ...HGETALL of the record}.
--
-- KEYS: site noticeSeq incident alerts
-- ARGV: mode id now ttl autoApproveAfterMs groupKey truncatedFiring onlyIfKnown
-- ARGV: summary names maxNames digest packed anyFiring phase
local mode, id = ARG.mode, ARG.id
local now, ttl = tonumber(ARG.now), ARG.ttl
local groupKey, digest, data = ARG.groupKey, ARG.digest, ARG.packed
if mode == 'notify' then
  local open = redis.call('HGET', KEY.site, 'open')
  if open then
    if open ~= id then return {'retry'} end
  else
    if ARG.anyFiring ~= '1' then return {'none'} end
    -- What INCR will return, compared before anything is written.
    if tostring(tonumber(redis.call('GET', KEY.noticeSeq) or '0') + 1) ~= id then return {'retry'} end
    redis.call('INCR', KEY.noticeSeq)
    redis.call('HSET', KEY.site, 'open', id)
  end
end
if ARG.onlyIfKnown == '1' and redis.call('EXISTS', KEY.incident) == 0 then return {'none'} end

local function result(transition, changed)
  local out = {id, transition, changed and '1' or '0'}
  local all = redis.call('HGETALL', KEY.incident)
  for i = 1, #all do out[#out + 1] = all[i] end
  return out
end

-- The group's last notification, applied again, changes nothing: skip the per-alert work (repeats, replicas).
local digestField = 'digest:' .. groupKey
if redis.call('HGET', KEY.incident, digestField) == digest then
  if mode == 'run' then redis.call('HSET', KEY.site, 'lastRun', id) end
  return result('none', false)
end
if ARG.phase == 'probe' then return {'need-data'} end

local m = redis.call('HMGET', KEY.incident, 'firing', 'alerts', 'trunc', 'episode', 'version', 'lastEndsAt', 'firstStartsAt', 'autoApproveAfterMs')
local firing, alerts, trunc = tonumber(m[1] or '0'), tonumber(m[2] or '0'), tonumber(m[3] or '0')
local episode, version = tonumber(m[4] or '0'), tonumber(m[5] or '0')
local lastEnds, firstStart = tonumber(m[6] or '0'), m[7] and tonumber(m[7]) or nil
local before = firing + trunc
local changed = false
local written = {}

-- A new incident has no alerts to compare with: skip reading them back.
local fresh = redis.call('EXISTS', KEY.alerts) == 0
local bFp, bStart, bSt, bEnds, n = {}, {}, {}, {}, 0
local function apply()
  if n == 0 then return end
  local olds = {}
  if not fresh then olds = redis.call('HMGET', KEY.alerts, unpack(bFp, 1, n)) end
  local sets = {}
  for j = 1, n do
    local fp, startText, st = bFp[j], bStart[j], bSt[j]
    local start = tonumber(startText)
    local old = written[fp] or olds[j]
    local accept, oldSt = false, nil
    if not old then
      accept = true
      alerts = alerts + 1
    else
      local sep = string.find(old, '|', 1, true)
      local oldStart = tonumber(string.sub(old, 1, sep - 1))
      oldSt = string.sub(old, sep + 1, sep + 1)
      if start > oldStart or (start == oldStart and oldSt == 'f' and st == 'r') then accept = true end
    end
    if accept then
      if oldSt == 'f' then firing = firing - 1 end
      if st == 'f' then firing = firing + 1 end
      if st == 'r' then
        local ends = tonumber(bEnds[j])
        if ends > lastEnds then lastEnds = ends end
      end
      if not firstStart or start < firstStart then firstStart = start end
      local value = startText .. '|' .. st
      written[fp] = value
      sets[#sets + 1] = fp
      sets[#sets + 1] = value
      changed = true
    end
  end
  if #sets > 0 then redis.call('HSET', KEY.alerts, unpack(sets)) end
  n = 0
end
for fp, start, st, ends in string.gmatch(data, '([^\t\n]+)\t(%d+)\t([fr])\t(%d+)\n') do
  n = n + 1
  bFp[n], bStart[n], bSt[n], bEnds[n] = fp, start, st, ends
  if n == 1000 then apply() end
end
apply()

if groupKey ~= '' then
  local field = 'trunc:' .. groupKey
  local had = redis.call('HEXISTS', KEY.incident, field) == 1
  if ARG.truncatedFiring == '1' and not had then
    redis.call('HSET', KEY.incident, field, '1')
    trunc = trunc + 1
    changed = true
  elseif ARG.truncatedFiring ~= '1' and had then
    redis.call('HDEL', KEY.incident, field)
    trunc = trunc - 1
    changed = true
  end
end

local transition = 'none'
local after = firing + trunc
local notice = false
if ARG.autoApproveAfterMs ~= '' then
  local current = tonumber(m[8] or '0')
  local wanted = tonumber(ARG.autoApproveAfterMs)
  if current == 0 or wanted < current then
    redis.call('HSET', KEY.incident, 'autoApproveAfterMs', ARG.autoApproveAfterMs)
    changed = true
    notice = true
  end
end
if changed then
  version = version + 1
  if before == 0 and after > 0 then
    transition = 'firing'
    episode = episode + 1
    redis.call('HSET', KEY.incident, 'firingSince', now)
    redis.call('HDEL', KEY.incident, 'resolvedAt')
  elseif before > 0 and after == 0 then
    transition = 'resolved'
    local resolvedAt = lastEnds > 0 and lastEnds or now
    redis.call('HSET', KEY.incident, 'resolvedAt', string.format('%d', resolvedAt))
  end
  redis.call('HSET', KEY.incident, 'firing', firing, 'alerts', alerts, 'trunc', trunc, 'episode', episode,
    'version', version, 'lastEndsAt', string.format('%d', lastEnds))
  if firstStart then redis.call('HSET', KEY.incident, 'firstStartsAt', string.format('%d', firstStart)) end
  if ARG.summary ~= '' then redis.call('HSETNX', KEY.incident, 'summary', ARG.summary) end
  if ARG.names ~= '' then
    local names = redis.call('HGET', KEY.incident, 'names') or ''
    local count = 0
    for _ in string.gmatch(names, '[^\n]+') do count = count + 1 end
    for name in string.gmatch(ARG.names, '[^\n]+') do
      if count >= tonumber(ARG.maxNames) then break end
      if not string.find('\n' .. names .. '\n', '\n' .. name .. '\n', 1, true) then
        names = names == '' and name or (names .. '\n' .. name)
        count = count + 1
      end
    end
    redis.call('HSET', KEY.incident, 'names', names)
  end
  if mode == 'notify' or transition ~= 'none' or notice then
    redis.call('HSET', KEY.incident, 'pending', version)
  end
  if mode == 'notify' and after == 0 and redis.call('HGET', KEY.site, 'open') == id then
    redis.call('HDEL', KEY.site, 'open')
  end
end
redis.call('HSET', KEY.incident, digestField, digest)
if mode == 'run' then redis.call('HSET', KEY.site, 'lastRun', id) end
redis.call('PEXPIRE', KEY.incident, ttl)
redis.call('PEXPIRE', KEY.alerts, ttl)
redis.call('PEXPIRE', KEY.site, ttl)
return result(transition, changed)
