-- release-reservation.lua — `reserved -> released` after a definite publish failure
-- (docs/architecture.md#the-reservation-record). Only the holder of the lease may release, and only
-- once: the state check makes the stock return happen at most once per order (I1, I2), and a worker
-- that already claimed the record (`published`) wins over a late release.
-- KEYS: the sale's eight keys (prelude.lua).   ARGV: 1 orderId, 2 lease token.
-- Returns {'released'} | {'LEASE_LOST'} | {'GONE'} | {state, status} when no longer reserved.
local orderId = ARGV[1]
local r = get_record(orderId)
if not r then return {'GONE'} end
if r.s ~= 'reserved' then return {r.s, r.st or 'PENDING'} end
if r.t ~= ARGV[2] then return {'LEASE_LOST'} end

return_units(r)
if r.g then
  -- A dead-letter replay (admin.dlq.replay) that could not be published: the order goes back
  -- to what it was — FAILED, with its key (I4) — instead of disappearing.
  r.g = nil
  close_record(orderId, r, 'done', 'FAILED')
  return {'released'}
end
-- A definite rejection leaves no idempotency record: a retry is judged afresh (I4).
local field = idem_field(r.u, r.k)
if redis.call('HGET', K_IDEM, field) == orderId then redis.call('HDEL', K_IDEM, field) end
close_record(orderId, r, 'released')
return {'released'}
