-- reserve-stock.lua — the one atomic decision of order intake (docs/architecture.md#reserve).
-- KEYS: the sale's twelve keys (prelude.lua).
-- ARGV: 1 userId, 2 idempotencyKey, 3 quantity, 4 orderId (made by the server),
--       5 lease token, 6 LEASE_MS, 7 "1" = replay-only mode (breaker open / NATS down),
--       8 correlationId, 9 the admission token's expiry (ms) on a queued sale, '' without one,
--       10 the caller's IP group ('' = none), 11 IP_UNIT_LIMIT (0 = off)
--
-- Returns an array whose first element is the decision (ReserveReply in scripts.ts):
--   {'RESERVED', orderId, epoch, leaseExpiryMs}  new reservation; or this very call re-sent by
--                                                ioredis after a reconnect (same orderId)
--   {'REPLAY', orderId, status, correlationId}   the key's earlier order, same input
--   {'IN_FLIGHT', orderId}                       the key's order is still `reserved`
--   {'MISMATCH', orderId}                        the key was used with another quantity
--   {'INCONSISTENT', orderId}                    key without record: hot state lost -> rebuild
--   {'NOT_ADMITTED'}                             queued sale: the token expired (judged after
--                                                the key step, docs/architecture.md#error-reasons), or none was verified
--   {'QUEUE_UNAVAILABLE'} or a refusal of judge_sale: {'REBUILDING'} {'SALE_ENDED'}
--   {'SALE_PAUSED'} {'SALE_NOT_STARTED'} {'USER_LIMIT'} {'IP_LIMIT'} {'SOLD_OUT'}

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

-- I8: on a queued sale nothing is reserved without a verified, unexpired admission token. The
-- server refuses missing and forged tokens before any I/O; this also covers a server that did
-- not know yet that the sale is queued.
if ARGV[9] ~= '' then
  if now >= tonumber(ARGV[9]) then return {'NOT_ADMITTED'} end
elseif redis.call('HEXISTS', K_HOT, 'qRate') == 1 then
  return {'NOT_ADMITTED'}
end
if ARGV[7] == '1' then return {'QUEUE_UNAVAILABLE'} end
local ipLimit = tonumber(ARGV[11] or '0') or 0
local ip = nil
if ipLimit > 0 and ARGV[10] and ARGV[10] ~= '' then ip = { field = 'ip:' .. ARGV[10], limit = ipLimit } end
local sale, refusal = judge_sale(now, userId, qty, ip)
if not sale then return {refusal} end
local expiry = reserve_units(now, sale, {
  orderId = orderId, userId = userId, key = key, qty = qty, token = ARGV[5],
  leaseMs = tonumber(ARGV[6]), correlationId = ARGV[8], ipField = ip and ip.field or nil,
})
-- An admitted shopper with an accepted order no longer counts as outstanding (docs/architecture.md#the-waiting-room).
if ARGV[9] ~= '' then redis.call('ZREM', K_Q_OUT, userId) end
return {'RESERVED', orderId, sale.epoch, tostring(expiry)}
