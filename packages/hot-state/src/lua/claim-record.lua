-- claim-record.lua — the worker claims a reservation before persisting it
-- (docs/architecture.md#the-reservation-record).
-- `reserved | published -> published`: from here on no server may release it (a release and a
-- persist exclude each other), and the sweeper leaves it alone (removed from the outbox).
-- KEYS: the sale's eight keys (prelude.lua).   ARGV: 1 orderId.
-- Returns {'published', userId, quantity, epoch}   claimed (or already claimed)
--         {'released'}                              given up by a server: ack and drop
--         {'done', status}                          finished before: make sure the row is final
--         {'GONE'}                                  no record (Redis lost it): persist by epoch
local r = get_record(ARGV[1])
if not r then return {'GONE'} end
if r.s == 'reserved' or r.s == 'published' then
  if r.s == 'reserved' then publish_record(ARGV[1], r) end
  return {'published', r.u, tostring(r.q), tostring(r.e)}
end
if r.s == 'done' then return {'done', r.st or 'PENDING'} end
return {r.s}
