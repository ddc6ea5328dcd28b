-- admit.lua — docs/architecture.md#the-waiting-room / I8: the one admission clock of a queued sale. Every server calls it
-- every ADMISSION_TICK_MS; being one atomic step in Redis, it is one clock for all of them.
-- KEYS: the sale's twelve keys (prelude.lua).   ARGV: none.
-- Admits the next shoppers in line order (the cursor only moves forward), as many as:
--   * the bucket holds: it fills at qRate per second, up to one second's worth, so admissions
--     are spread over the second rather than bunched at its start;
--   * the sliding window allows: never more than qRate within any 1,000 ms (qWin);
--   * the outstanding cap allows: admitted within the last qTtlMs without an accepted order
--     (qOut) stays below remaining × qFactor — so a sold-out sale admits nobody;
-- and nobody before the start, after the end, while paused or rebuilding, or at rate 0.
-- Returns {admitted now}.
local now = now_ms()
if redis.call('EXISTS', K_REBUILD) == 1 then return {0} end
local h = redis.call('HMGET', K_HOT, 'remaining', 'startsMs', 'endsMs', 'paused', 'qRate', 'qTtlMs', 'qFactor', 'expAt')
if not h[5] then return {0} end
-- Nobody has joined (or Redis lost the room): nothing to admit, and no key to create here —
-- only queue-join.lua creates the room's keys, with the sale's expiry.
if redis.call('EXISTS', K_Q_TIX) == 0 then return {0} end
local rate = tonumber(h[5])
if now < tonumber(h[2]) or now >= tonumber(h[3]) or h[4] == '1' or rate <= 0 then
  -- Admission pauses: no credit builds up meanwhile.
  redis.call('HSET', K_Q_TIX, '#tok', 0, '#tokAt', now)
  return {0}
end
local q = redis.call('HMGET', K_Q_TIX, '#cursor', '#tok', '#tokAt')
local cursor = tonumber(q[1] or '0')
local tokAt = tonumber(q[3] or h[2])
local tokens = math.min(rate, tonumber(q[2] or '0') + math.max(0, now - tokAt) * rate / 1000)
redis.call('ZREMRANGEBYSCORE', K_Q_WIN, '-inf', '(' .. (now - 1000))
redis.call('ZREMRANGEBYSCORE', K_Q_OUT, '-inf', now - tonumber(h[6]))
local window = rate - redis.call('ZCARD', K_Q_WIN)
local cap = math.ceil(tonumber(h[1]) * tonumber(h[7])) - redis.call('ZCARD', K_Q_OUT)
local waiting = redis.call('ZCARD', K_Q_LINE) - cursor
local n = math.min(math.floor(tokens), window, cap, waiting)
if n <= 0 then
  redis.call('HSET', K_Q_TIX, '#tok', tostring(tokens), '#tokAt', now)
  return {0}
end
local members = redis.call('ZRANGE', K_Q_LINE, cursor, cursor + n - 1)
for _, member in ipairs(members) do
  local userId = string.sub(member, string.find(member, ':', 1, true) + 1)
  redis.call('HSET', K_Q_TIX, userId, member .. '|' .. now)
  redis.call('ZADD', K_Q_WIN, now, member)
  redis.call('ZADD', K_Q_OUT, now, userId)
end
redis.call('HSET', K_Q_TIX, '#cursor', cursor + #members, '#tok', tostring(tokens - #members), '#tokAt', now)
keep_expiry(tonumber(h[8]), { K_Q_TIX, K_Q_LINE, K_Q_WIN, K_Q_OUT })
return {#members}
