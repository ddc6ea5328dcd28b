-- finish-record.lua — `published -> done` with the order's stored final status
-- (docs/architecture.md#the-reservation-record). A status that ends the order without a sale
-- (FAILED_PAYMENT, FAILED) returns its units and the user's quota — once, because only this
-- transition does it and it checks the state first. The idempotency record stays: a failed
-- order keeps its key (I4). A `done` record still saying PENDING (written by a rebuild while the
-- order was being paid) is finished the same way.
-- KEYS: the sale's eight keys (prelude.lua).   ARGV: 1 orderId, 2 final status.
-- Returns 'done' (transition made), 'GONE', or the state it found ('done', 'released').
local orderId, status = ARGV[1], ARGV[2]
local r = get_record(orderId)
if not r then return 'GONE' end
local open = r.s == 'reserved' or r.s == 'published' or (r.s == 'done' and r.st == 'PENDING')
if not open then return r.s end
if status ~= 'CONFIRMED' and status ~= 'PENDING' then return_units(r) end
close_record(orderId, r, 'done', status)
count('finalized') -- orders reaching a final status: the HUD's persisted/s
return 'done'
