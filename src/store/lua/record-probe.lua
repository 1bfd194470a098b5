-- Counts one auto-approval witness probe against a run's incident record, in its current quiet period (which it
-- derives from `firingSince`, so a probe can never be counted against a period that an alert delivery has just
-- replaced). Order-independent: probes from several workers may arrive out of order, and only their start times
-- matter. `ok` is 1 or 0; `maxGap` (ms) is the longest gap between failures of one streak. Returns HGETALL of the
-- record, or {} when there is none.
--
-- KEYS: incident
-- ARGV: createdAt at ok detail maxGap
if redis.call('EXISTS', KEY.incident) == 0 then return {} end
local createdAt, at, ok, detail, maxGap = tonumber(ARG.createdAt), tonumber(ARG.at), ARG.ok == '1', ARG.detail, tonumber(ARG.maxGap)
local firingSince = tonumber(redis.call('HGET', KEY.incident, 'firingSince') or ARG.createdAt)
local since = math.max(createdAt, firingSince)
local p = redis.call('HMGET', KEY.incident, 'probe:since', 'probe:total', 'probe:failed', 'probe:streak',
  'probe:streakSince', 'probe:streakLast', 'probe:lastOkAt', 'probe:lastAt')
local fields = {'probe:streakSince', 'probe:streakLast', 'probe:lastOkAt', 'probe:lastAt', 'probe:lastOk',
  'probe:lastDetail'}
local total, failed, streak, streakSince, streakLast, lastOkAt, lastAt = 0, 0, 0, nil, nil, nil, nil
if tonumber(p[1]) == since then
  total, failed, streak = tonumber(p[2] or '0'), tonumber(p[3] or '0'), tonumber(p[4] or '0')
  streakSince, streakLast = tonumber(p[5] or ''), tonumber(p[6] or '')
  lastOkAt, lastAt = tonumber(p[7] or ''), tonumber(p[8] or '')
else
  redis.call('HDEL', KEY.incident, unpack(fields))
end
local function fmt(n) return string.format('%d', n) end
if at >= since then
  total = total + 1
  if ok then
    if not lastOkAt or at > lastOkAt then lastOkAt = at end
    -- A success ends the streak it follows; a streak that began after it stands.
    if streak > 0 and streakSince <= at then streak, streakSince, streakLast = 0, nil, nil end
  else
    failed = failed + 1
    -- A failure that began before the newest success is older news than that success.
    if not lastOkAt or at > lastOkAt then
      if streak > 0 and at - streakLast > maxGap then streak, streakSince, streakLast = 0, nil, nil end
      streak = streak + 1
      if not streakSince or at < streakSince then streakSince = at end
      if not streakLast or at > streakLast then streakLast = at end
    end
  end
  if not lastAt or at >= lastAt then
    redis.call('HSET', KEY.incident, 'probe:lastAt', fmt(at), 'probe:lastOk', ok and '1' or '0', 'probe:lastDetail', detail)
  end
end
redis.call('HSET', KEY.incident, 'probe:since', fmt(since), 'probe:total', total, 'probe:failed', failed, 'probe:streak', streak)
if streak > 0 then
  redis.call('HSET', KEY.incident, 'probe:streakSince', fmt(streakSince), 'probe:streakLast', fmt(streakLast))
else
  redis.call('HDEL', KEY.incident, 'probe:streakSince', 'probe:streakLast')
end
if lastOkAt then redis.call('HSET', KEY.incident, 'probe:lastOkAt', fmt(lastOkAt)) end
return redis.call('HGETALL', KEY.incident)
