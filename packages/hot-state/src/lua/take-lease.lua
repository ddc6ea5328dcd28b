-- take-lease.lua — SPEC §4 step 3: the sweeper takes over a `reserved` record whose lease
-- expired (its server died or stalled) so that exactly one process settles it.
-- KEYS: 1 res, 2 outbox.   ARGV: 1 orderId, 2 new lease token, 3 LEASE_MS.
-- Returns the record JSON (with the new lease) or false when there is nothing to take.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return false
end
local r = cjson.decode(raw)
if r.s ~= 'reserved' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return false
end
if tonumber(r.x) > now then return false end
r.t = ARGV[2]
r.x = now + tonumber(ARGV[3])
local enc = cjson.encode(r)
redis.call('HSET', KEYS[1], ARGV[1], enc)
redis.call('ZADD', KEYS[2], r.x, ARGV[1])
return enc
