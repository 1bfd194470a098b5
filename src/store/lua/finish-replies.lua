-- Reply `claimer` posted the replies `ids` (a JSON array) in one message: each is marked posted and leaves the
-- thread. What it claimed and did not post (past one message's limits) is free again for the next slot.
--
-- KEYS: thread bodies claims posted
-- ARGV: claimer ids markerTtl
for _, id in ipairs(cjson.decode(ARG.ids)) do
  redis.call('HSET', KEY.posted, id, ARG.claimer)
  redis.call('ZREM', KEY.thread, id)
  redis.call('HDEL', KEY.bodies, id)
  redis.call('HDEL', KEY.claims, id, 'solo\n' .. id)
end
redis.call('PEXPIRE', KEY.posted, ARG.markerTtl)
local all = redis.call('HGETALL', KEY.claims)
for i = 1, #all, 2 do
  if string.match(all[i + 1], '^(.*)|%d+$') == ARG.claimer then redis.call('HDEL', KEY.claims, all[i]) end
end
return 1
