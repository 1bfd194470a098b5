-- Sets a once-only flag on an incident record that exists. Returns 1 for the one caller that set it, else 0.
--
-- KEYS: incident
-- ARGV: flag value
if redis.call('EXISTS', KEY.incident) == 0 then return 0 end
return redis.call('HSETNX', KEY.incident, 'flag:' .. ARG.flag, ARG.value)
