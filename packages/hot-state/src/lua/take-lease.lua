-- take-lease.lua — docs/architecture.md#the-outbox-and-the-sweeper: the sweeper takes over a
-- `reserved` record whose lease expired (its server died or stalled) so that exactly one process
-- settles it.
-- KEYS: the sale's eight keys (prelude.lua).   ARGV: 1 orderId, 2 new lease token, 3 LEASE_MS.
-- Returns the record JSON (with the new lease) or false when there is nothing to take.
local now = now_ms()
local orderId = ARGV[1]
local r = get_record(orderId)
if not r or r.s ~= 'reserved' then
  redis.call('ZREM', K_OUTBOX, orderId)
  return false
end
if tonumber(r.x) > now then return false end
r.t = ARGV[2]
r.x = now + tonumber(ARGV[3])
local enc = cjson.encode(r)
redis.call('HSET', K_RES, orderId, enc)
redis.call('ZADD', K_OUTBOX, r.x, orderId)
return enc
