-- Claims a paused run's reminder when it is due: `everyMs` after the run paused and after the last reminder.
-- Returns 1 (post it) or 0.
--
-- KEYS: reminder
-- ARGV: now pausedAt everyMs ttlMs
local now = tonumber(ARG.now)
local last = tonumber(redis.call('GET', KEY.reminder) or '0')
if now - math.max(last, tonumber(ARG.pausedAt)) < tonumber(ARG.everyMs) then return 0 end
redis.call('SET', KEY.reminder, ARG.now, 'PX', ARG.ttlMs)
return 1
