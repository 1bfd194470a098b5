-- Records a site's readiness evaluation and decides, in the same step, what the channel hears: a compare-and-set
-- on the verdict last posted, so any number of workers recording the same change post it once.
-- Returns {outcome, redSince}. outcome: 'unready' (post: not ready), 'recovered' (post: ready again), 'reminder'
-- (still not ready, `remindEveryMs` after the last post), 'none', or 'stale' (an evaluation that started before the
-- one stored: nothing changes — evaluations may overlap, and the one that read the world last wins). redSince: since when the channel was told the site is not ready ('' when it was not).
-- The first evaluation of a site posts only when it is not ready.
--
-- KEYS: readiness
-- ARGV: at startedAt verdict evaluation remindEveryMs ttlMs
local at = tonumber(ARG.at)
local last = tonumber(redis.call('HGET', KEY.readiness, 'startedAt') or '-1')
if tonumber(ARG.startedAt) < last then return {'stale', ''} end
redis.call('HSET', KEY.readiness, 'at', ARG.at, 'startedAt', ARG.startedAt, 'verdict', ARG.verdict,
  'evaluation', ARG.evaluation)
redis.call('PEXPIRE', KEY.readiness, ARG.ttlMs)
local posted = redis.call('HGET', KEY.readiness, 'posted')
local redSince = redis.call('HGET', KEY.readiness, 'redSince') or ''
if posted ~= ARG.verdict then
  redis.call('HSET', KEY.readiness, 'posted', ARG.verdict, 'postedAt', ARG.at)
  if ARG.verdict == 'unready' then
    redis.call('HSET', KEY.readiness, 'redSince', ARG.at)
    return {'unready', ARG.at}
  end
  redis.call('HDEL', KEY.readiness, 'redSince')
  if posted then return {'recovered', redSince} end
  return {'none', ''}
end
local postedAt = tonumber(redis.call('HGET', KEY.readiness, 'postedAt') or '0')
if ARG.verdict == 'unready' and at - postedAt >= tonumber(ARG.remindEveryMs) then
  redis.call('HSET', KEY.readiness, 'postedAt', ARG.at)
  return {'reminder', redSince}
end
return {'none', redSince}
