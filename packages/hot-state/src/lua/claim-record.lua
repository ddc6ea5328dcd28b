-- claim-record.lua — SPEC §4 step 4: the worker claims a reservation before persisting it.
-- `reserved | published -> published`: from here on no server may release it (a release and a
-- persist exclude each other), and the sweeper leaves it alone (removed from the outbox).
-- KEYS: 1 res, 2 outbox.   ARGV: 1 orderId.
-- Returns {'published', userId, quantity, epoch}   claimed (or already claimed)
--         {'released'}                              given up by a server: ack and drop
--         {'done', status}                          finished before: make sure the row is final
--         {'GONE'}                                  no record (Redis lost it): persist by epoch
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'GONE'} end
local r = cjson.decode(raw)
if r.s == 'reserved' or r.s == 'published' then
  if r.s == 'reserved' then
    r.s = 'published'
    r.t = nil
    r.x = nil
    redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(r))
    redis.call('ZREM', KEYS[2], ARGV[1])
  end
  return {'published', r.u, tostring(r.q), tostring(r.e)}
end
if r.s == 'done' then return {'done', r.st or 'PENDING'} end
return {r.s}
