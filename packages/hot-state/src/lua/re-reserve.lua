-- re-reserve.lua — `admin.dlq.replay` (docs/architecture.md#dead-letters-and-replay): reserve
-- again, by the same rules as a new order (judge_sale, reserve_units), for an order that ended
-- FAILED (its units were returned when it failed). The idempotency key still names this order (a
-- failed order keeps its key, I4); the new record carries the replay generation the message must
-- carry.
-- KEYS: the sale's eight keys (prelude.lua).
-- ARGV: 1 orderId, 2 userId, 3 idempotencyKey, 4 quantity, 5 lease token, 6 LEASE_MS,
--       7 correlationId, 8 replay generation
-- Returns {'RESERVED', epoch} or a refusal: {'NOT_FINISHED'} (the record is still open) or
-- one of judge_sale: {'REBUILDING'} {'SALE_ENDED'} {'SALE_PAUSED'} {'SALE_NOT_STARTED'}
-- {'USER_LIMIT'} {'SOLD_OUT'}.
local now = now_ms()
local orderId, userId, key, qty = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

local r = get_record(orderId)
if r and (r.s == 'reserved' or r.s == 'published') then return {'NOT_FINISHED'} end
local sale, refusal = judge_sale(now, userId, qty)
if not sale then return {refusal} end
reserve_units(now, sale, {
  orderId = orderId, userId = userId, key = key, qty = qty, token = ARGV[5],
  leaseMs = tonumber(ARGV[6]), correlationId = ARGV[7], replayGen = tonumber(ARGV[8]),
})
return {'RESERVED', sale.epoch}
