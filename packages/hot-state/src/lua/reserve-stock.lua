-- reserve-stock.lua — SPEC §4 step 1: the one atomic decision of order intake.
--
-- KEYS (all under the sale's hash tag {sale:<id>}, so this runs on Redis Cluster):
--   1 hot      hash  name, priceCents, total, remaining, limit, startsMs, endsMs, paused, epoch, expAt
--   2 rebuild  str   present while the sale is being rebuilt (SPEC §4 step 7)
--   3 users    hash  userId -> units held by live orders and open reservations (I5)
--   4 idem     hash  "<userId> <key>" -> orderId: the idempotency records (I4)
--   5 res      hash  orderId -> JSON reservation record {s,u,q,k,t,x,e,c,ts,st}
--   6 outbox   zset  orderId scored by lease expiry (ms): records still `reserved`
--   7 open     set   orderIds `reserved` or `published`: the sale's unsettled backlog
-- ARGV: 1 userId, 2 idempotencyKey, 3 quantity, 4 orderId (made by the server),
--       5 lease token, 6 LEASE_MS, 7 "1" = replay-only mode (breaker open / NATS down),
--       8 correlationId
--
-- Returns an array whose first element is the decision:
--   {'RESERVED', orderId, epoch, leaseExpiryMs}  new reservation; or this very call re-sent by
--                                                ioredis after a reconnect (same orderId)
--   {'REPLAY', orderId, status, correlationId}   the key's earlier order, same input
--   {'IN_FLIGHT', orderId}                       the key's order is still `reserved`
--   {'MISMATCH', orderId}                        the key was used with another quantity
--   {'INCONSISTENT', orderId}                    key without record: hot state lost -> rebuild
--   {'QUEUE_UNAVAILABLE'} {'REBUILDING'} {'SALE_ENDED'} {'SALE_PAUSED'} {'SALE_NOT_STARTED'}
--   {'USER_LIMIT'} {'SOLD_OUT'}
-- Time comes from Redis (never a server's clock), so every server judges windows alike.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local userId, key, qty, orderId = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local idemField = userId .. ' ' .. key

local existing = redis.call('HGET', KEYS[4], idemField)
if existing then
  local raw = redis.call('HGET', KEYS[5], existing)
  if not raw then return {'INCONSISTENT', existing} end
  local r = cjson.decode(raw)
  if existing == orderId then
    -- Our own command delivered twice: answer exactly as the first execution did.
    return {'RESERVED', orderId, tostring(r.e), tostring(r.x or 0)}
  end
  if tonumber(r.q) ~= qty then return {'MISMATCH', existing} end
  if r.s == 'reserved' then return {'IN_FLIGHT', existing} end
  return {'REPLAY', existing, r.st or 'PENDING', r.c or ''}
end

if ARGV[7] == '1' then return {'QUEUE_UNAVAILABLE'} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'REBUILDING'} end

local h = redis.call('HMGET', KEYS[1], 'remaining', 'limit', 'startsMs', 'endsMs', 'paused', 'epoch', 'expAt')
-- A missing stock key means "not ready", never "sold out": the caller triggers a rebuild.
if not h[1] then return {'REBUILDING'} end
local remaining, limit = tonumber(h[1]), tonumber(h[2])
if now >= tonumber(h[4]) then return {'SALE_ENDED'} end
if h[5] == '1' then return {'SALE_PAUSED'} end
if now < tonumber(h[3]) then return {'SALE_NOT_STARTED'} end
local held = tonumber(redis.call('HGET', KEYS[3], userId) or '0')
if qty > limit or held + qty > limit then return {'USER_LIMIT'} end
if remaining < qty then return {'SOLD_OUT'} end

local expiry = now + tonumber(ARGV[6])
redis.call('HINCRBY', KEYS[1], 'remaining', -qty)
redis.call('HINCRBY', KEYS[3], userId, qty)
redis.call('HSET', KEYS[4], idemField, orderId)
redis.call('HSET', KEYS[5], orderId, cjson.encode({
  s = 'reserved', u = userId, q = qty, k = key, t = ARGV[5], x = expiry,
  e = tonumber(h[6]), c = ARGV[8], ts = now,
}))
redis.call('ZADD', KEYS[6], expiry, orderId)
redis.call('SADD', KEYS[7], orderId)
-- Keys created here get the sale's expiry like the rest of its keys (SPEC §4 step 8).
local expAt = tonumber(h[7])
if expAt then
  for i = 3, 7 do redis.call('EXPIREAT', KEYS[i], expAt) end
end
return {'RESERVED', orderId, h[6], tostring(expiry)}
