-- The send slot of reply `dedupeId` has come: it claims itself and the text replies queued after it in its thread
-- (in the order asked), up to the first file, the first reply that must go alone, or the first one another reply
-- holds. A claim is `<claimer>|<claimedAt>`; one older than `staleMs` (its claimer gave up or vanished) is free.
-- A claimer that runs again (a retry, a dead worker's job) finds its claims and takes them anew.
-- Returns {'posted'}, {'merged', claimer} or {'claimed', id1, body1, id2, body2, ...} (body '' when unknown).
--
-- KEYS: thread bodies claims posted
-- ARGV: dedupeId now staleMs ttl
local me = ARG.dedupeId
if redis.call('HEXISTS', KEY.posted, me) == 1 then return {'posted'} end
local now = tonumber(ARG.now)

local function holder(id)
  local value = redis.call('HGET', KEY.claims, id)
  if not value then return nil end
  local who, at = string.match(value, '^(.*)|(%d+)$')
  if not who or now - tonumber(at) >= tonumber(ARG.staleMs) then return nil end
  return who
end

local held = holder(me)
if held and held ~= me then return {'merged', held} end
local stamp = me .. '|' .. ARG.now
redis.call('HSET', KEY.claims, me, stamp)
local out = {'claimed', me, redis.call('HGET', KEY.bodies, me) or ''}
local rank = redis.call('ZRANK', KEY.thread, me)
if rank and redis.call('HEXISTS', KEY.claims, 'solo\n' .. me) == 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEY.thread, rank + 1, -1)) do
    local body = redis.call('HGET', KEY.bodies, id)
    if not body or redis.call('HEXISTS', KEY.claims, 'solo\n' .. id) == 1 then break end
    local who = holder(id)
    if who and who ~= me then break end
    redis.call('HSET', KEY.claims, id, stamp)
    out[#out + 1] = id
    out[#out + 1] = body
  end
end
redis.call('PEXPIRE', KEY.claims, ARG.ttl)
return out
