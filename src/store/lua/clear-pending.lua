-- Forgets an incident record's pending marker once Slack has been told about `version` (a newer change keeps it).
--
-- KEYS: incident
-- ARGV: version
if redis.call('HGET', KEY.incident, 'pending') == ARG.version then
  return redis.call('HDEL', KEY.incident, 'pending')
end
return 0
