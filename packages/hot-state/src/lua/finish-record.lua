-- finish-record.lua — `published -> done` with each order's stored final status
-- (docs/architecture.md#the-reservation-record), every order of one sale in one call. A status
-- that ends the order without a sale (FAILED_PAYMENT, FAILED) returns its units and the user's
-- quota — once, because only this transition does it and it checks the state first. The
-- idempotency record stays: a failed order keeps its key (I4). A `done` record still saying
-- PENDING (written by a rebuild while the order was being paid) is finished the same way.
-- KEYS: the sale's twelve keys (prelude.lua).
-- ARGV: orderId, final status, orderId, final status, … (one or more pairs, of this sale).
-- Returns one reply per pair, in ARGV's order: 'done' (transition made), 'GONE', or the state
-- it found ('done', 'released').
local function finish(orderId, status)
  local r = get_record(orderId)
  if not r then return 'GONE' end
  local open = r.s == 'reserved' or r.s == 'published' or (r.s == 'done' and r.st == 'PENDING')
  if not open then return r.s end
  if status ~= 'CONFIRMED' and status ~= 'PENDING' then return_units(r) end
  close_record(orderId, r, 'done', status)
  count('finalized') -- orders reaching a final status: the HUD's persisted/s
  return 'done'
end

local replies = {}
for i = 1, #ARGV, 2 do replies[#replies + 1] = finish(ARGV[i], ARGV[i + 1]) end
return replies
