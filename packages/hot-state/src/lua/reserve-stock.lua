-- reserve-stock.lua — the one atomic decision of order intake (docs/architecture.md#reserve).
-- KEYS: the sale's eight keys (prelude.lua).
-- ARGV: 1 userId, 2 idempotencyKey, 3 quantity, 4 orderId (made by the server),
--       5 lease token, 6 LEASE_MS, 7 "1" = replay-only mode (breaker open / NATS down),
--       8 correlationId
--
-- Returns an array whose first element is the decision (ReserveReply in scripts.ts):
--   {'RESERVED', orderId, epoch, leaseExpiryMs}  new reservation; or this very call re-sent by
--                                                ioredis after a reconnect (same orderId)
--   {'REPLAY', orderId, status, correlationId}   the key's earlier order, same input
--   {'IN_FLIGHT', orderId}                       the key's order is still `reserved`
--   {'MISMATCH', orderId}                        the key was used with another quantity
--   {'INCONSISTENT', orderId}                    key without record: hot state lost -> rebuild
--   {'QUEUE_UNAVAILABLE'} or a refusal of judge_sale: {'REBUILDING'} {'SALE_ENDED'}
--   {'SALE_PAUSED'} {'SALE_NOT_STARTED'} {'USER_LIMIT'} {'SOLD_OUT'}

local now = now_ms()
local userId, key, qty, orderId = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]

local existing = redis.call('HGET', K_IDEM, idem_field(userId, key))
if existing then
  local r = get_record(existing)
  if not r then return {'INCONSISTENT', existing} end
  if existing == orderId then
    -- Our own command delivered twice: answer exactly as the first execution did.
    return {'RESERVED', orderId, tostring(r.e), tostring(r.x or 0)}
  end
  if tonumber(r.q) ~= qty then return {'MISMATCH', existing} end
  if r.s == 'reserved' then return {'IN_FLIGHT', existing} end
  return {'REPLAY', existing, r.st or 'PENDING', r.c or ''}
end

if ARGV[7] == '1' then return {'QUEUE_UNAVAILABLE'} end
local sale, refusal = judge_sale(now, userId, qty)
if not sale then return {refusal} end
local expiry = reserve_units(now, sale, {
  orderId = orderId, userId = userId, key = key, qty = qty, token = ARGV[5],
  leaseMs = tonumber(ARGV[6]), correlationId = ARGV[8],
})
return {'RESERVED', orderId, sale.epoch, tostring(expiry)}
