-- release-reservation.lua — SPEC §4 step 2/3: `reserved -> released` after a definite publish
-- failure. Only the holder of the lease may release, and only once: the state check makes the
-- stock return happen at most once per order (I1, I2), and a worker that already claimed the
-- record (`published`) wins over a late release.
-- KEYS: 1 hot, 2 users, 3 idem, 4 res, 5 outbox, 6 open.   ARGV: 1 orderId, 2 lease token.
-- Returns {'released'} | {'LEASE_LOST'} | {'GONE'} | {state, status} when no longer reserved.
local raw = redis.call('HGET', KEYS[4], ARGV[1])
if not raw then return {'GONE'} end
local r = cjson.decode(raw)
if r.s ~= 'reserved' then return {r.s, r.st or 'PENDING'} end
if r.t ~= ARGV[2] then return {'LEASE_LOST'} end

-- Never create a missing stock key: if the hot state is gone, the rebuild recomputes it.
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'remaining', r.q)
  if redis.call('HINCRBY', KEYS[2], r.u, -r.q) <= 0 then redis.call('HDEL', KEYS[2], r.u) end
end
if r.g then
  -- A dead-letter replay (admin.dlq.replay) that could not be published: the order goes back
  -- to what it was — FAILED, with its key (I4) — instead of disappearing.
  r.s = 'done'
  r.st = 'FAILED'
  r.g = nil
  r.t = nil
  r.x = nil
  redis.call('HSET', KEYS[4], ARGV[1], cjson.encode(r))
  redis.call('ZREM', KEYS[5], ARGV[1])
  redis.call('SREM', KEYS[6], ARGV[1])
  return {'released'}
end
local idemField = r.u .. ' ' .. r.k
if redis.call('HGET', KEYS[3], idemField) == ARGV[1] then redis.call('HDEL', KEYS[3], idemField) end
r.s = 'released'
r.t = nil
r.x = nil
redis.call('HSET', KEYS[4], ARGV[1], cjson.encode(r))
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('SREM', KEYS[6], ARGV[1])
return {'released'}
