-- queue-join.lua — docs/architecture.md#the-waiting-room `queue.join`: a place in a queued sale's waiting room, O(log n).
-- KEYS: the sale's twelve keys (prelude.lua).
-- ARGV: 1 userId, 2 a uniformly random number in [0, 1) made by the server: the place of a
--       shopper joining before the start (I8: arrival speed buys nothing).
-- Idempotent per (sale, user): a waiting or admitted ticket keeps its place; an expired one
-- (admitted more than qTtlMs ago) goes to the end of the line with a new place. After the
-- start, places follow arrival (1 + an arrival counter), behind every pre-start joiner.
-- Returns room_reply('OK', …) (prelude.lua), or {'UNQUEUED'} / {'REBUILDING'} with no hot state.
local now = now_ms()
local userId = ARGV[1]
local h = redis.call('HMGET', K_HOT, 'startsMs', 'endsMs', 'qTtlMs', 'expAt')
if not h[1] then return {'REBUILDING'} end
if not h[3] then return {'UNQUEUED'} end
local t = get_ticket(userId)
local expired = t and t.admit and now >= tonumber(t.admit) + tonumber(h[3])
if (not t or expired) and now < tonumber(h[2]) then
  local member = redis.call('HINCRBY', K_Q_TIX, '#joins', 1) .. ':' .. userId
  local score
  if now < tonumber(h[1]) then
    score = tonumber(ARGV[2])
  else
    score = 1 + redis.call('HINCRBY', K_Q_TIX, '#seq', 1)
  end
  redis.call('ZADD', K_Q_LINE, score, member)
  redis.call('HSET', K_Q_TIX, userId, member .. '|')
  keep_expiry(tonumber(h[4]), { K_Q_TIX, K_Q_LINE })
  t = { member = member }
end
if not t then return room_reply('NONE', now, nil, nil) end
return room_reply('OK', now, t.member, t.admit)
