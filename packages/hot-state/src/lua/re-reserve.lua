-- re-reserve.lua — SPEC §4 step 6, `admin.dlq.replay`: reserve again, by the same rules as a
-- new order, for an order that ended FAILED (its units were returned when it failed). The
-- idempotency key still names this order (a failed order keeps its key, I4).
-- KEYS: 1 hot, 2 rebuild, 3 users, 4 idem, 5 res, 6 outbox, 7 open
-- ARGV: 1 orderId, 2 userId, 3 idempotencyKey, 4 quantity, 5 lease token, 6 LEASE_MS,
--       7 correlationId, 8 replay generation
-- Returns {'RESERVED', epoch} or a refusal: {'REBUILDING'} {'SALE_ENDED'} {'SALE_PAUSED'}
-- {'SALE_NOT_STARTED'} {'USER_LIMIT'} {'SOLD_OUT'} {'NOT_FINISHED'} (the record is still open).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local orderId, userId, key, qty = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

local raw = redis.call('HGET', KEYS[5], orderId)
if raw then
  local r = cjson.decode(raw)
  if r.s == 'reserved' or r.s == 'published' then return {'NOT_FINISHED'} end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'REBUILDING'} end
local h = redis.call('HMGET', KEYS[1], 'remaining', 'limit', 'startsMs', 'endsMs', 'paused', 'epoch', 'expAt')
if not h[1] then return {'REBUILDING'} end
if now >= tonumber(h[4]) then return {'SALE_ENDED'} end
if h[5] == '1' then return {'SALE_PAUSED'} end
if now < tonumber(h[3]) then return {'SALE_NOT_STARTED'} end
local held = tonumber(redis.call('HGET', KEYS[3], userId) or '0')
if qty > tonumber(h[2]) or held + qty > tonumber(h[2]) then return {'USER_LIMIT'} end
if tonumber(h[1]) < qty then return {'SOLD_OUT'} end

local expiry = now + tonumber(ARGV[6])
redis.call('HINCRBY', KEYS[1], 'remaining', -qty)
redis.call('HINCRBY', KEYS[3], userId, qty)
redis.call('HSET', KEYS[4], userId .. ' ' .. key, orderId)
redis.call('HSET', KEYS[5], orderId, cjson.encode({
  s = 'reserved', u = userId, q = qty, k = key, t = ARGV[5], x = expiry,
  e = tonumber(h[6]), c = ARGV[7], ts = now, g = tonumber(ARGV[8]),
}))
redis.call('ZADD', KEYS[6], expiry, orderId)
redis.call('SADD', KEYS[7], orderId)
local expAt = tonumber(h[7])
if expAt then
  for i = 3, 7 do redis.call('EXPIREAT', KEYS[i], expAt) end
end
return {'RESERVED', h[6]}
