-- claim-record.lua — the worker claims the reservations of a batch before persisting them
-- (docs/architecture.md#the-reservation-record), every order of one sale in one call.
-- `reserved | published -> published`: from here on no server may release it (a release and a
-- persist exclude each other), and the sweeper leaves it alone (removed from the outbox).
-- KEYS: the sale's twelve keys (prelude.lua).   ARGV: orderIds (one or more, of this sale).
-- Returns one reply per orderId, in ARGV's order:
--         {'published', userId, quantity, epoch}   claimed (or already claimed)
--         {'released'}                              given up by a server: ack and drop
--         {'done', status}                          finished before: make sure the row is final
--         {'GONE'}                                  no record (Redis lost it): persist by epoch
local function claim(orderId)
  local r = get_record(orderId)
  if not r then return {'GONE'} end
  if r.s == 'reserved' or r.s == 'published' then
    if r.s == 'reserved' then publish_record(orderId, r) end
    return {'published', r.u, tostring(r.q), tostring(r.e)}
  end
  if r.s == 'done' then return {'done', r.st or 'PENDING'} end
  return {r.s}
end

local replies = {}
for i = 1, #ARGV do replies[i] = claim(ARGV[i]) end
return replies
