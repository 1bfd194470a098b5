-- Reply `claimer` will not post what it claimed (it gave up, or Slack refused the merged message): its claims are
-- freed. With `solo` = '1' each of those replies goes alone from now on, so one that Slack refuses fails by itself.
--
-- KEYS: claims
-- ARGV: claimer solo
local all = redis.call('HGETALL', KEY.claims)
for i = 1, #all, 2 do
  if string.match(all[i + 1], '^(.*)|%d+$') == ARG.claimer then
    redis.call('HDEL', KEY.claims, all[i])
    if ARG.solo == '1' then redis.call('HSET', KEY.claims, 'solo\n' .. all[i], '1') end
  end
end
return 1
