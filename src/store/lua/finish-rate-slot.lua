-- A request that took a start of a shared limit (take-rate-slot.lua) has been answered: its start, held in the
-- future while in flight, moves to now on Redis's clock, so the window counts it from when it could last have
-- reached the service, however late it left. A start already gone from the window is not added back.
--
-- KEYS: starts
-- ARGV: member windowMs holdMs
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZADD', KEY.starts, 'XX', now, ARG.member)
redis.call('PEXPIRE', KEY.starts, tonumber(ARG.windowMs) * 2 + tonumber(ARG.holdMs))
return 1
