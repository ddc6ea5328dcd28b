-- finish-record.lua — SPEC §4 steps 5–6: `published -> done` with the order's stored final
-- status. A status that ends the order without a sale (FAILED_PAYMENT, FAILED) returns its
-- units and the user's quota — once, because only this transition does it and it checks the
-- state first. The idempotency record stays: a failed order keeps its key (I4).
-- A `done` record still saying PENDING (written by a rebuild while the order was being paid)
-- is finished the same way.
-- KEYS: 1 hot, 2 users, 3 res, 4 outbox, 5 open.   ARGV: 1 orderId, 2 final status.
-- Returns 'done' (transition made), 'GONE', or the state it found ('done', 'released').
local raw = redis.call('HGET', KEYS[3], ARGV[1])
if not raw then return 'GONE' end
local r = cjson.decode(raw)
local open = r.s == 'reserved' or r.s == 'published' or (r.s == 'done' and r.st == 'PENDING')
if not open then return r.s end
local status = ARGV[2]
if status ~= 'CONFIRMED' and status ~= 'PENDING' and redis.call('EXISTS', KEYS[1]) == 1 then
  -- Never create a missing stock key: a lost hot state is recomputed by the rebuild.
  redis.call('HINCRBY', KEYS[1], 'remaining', r.q)
  if redis.call('HINCRBY', KEYS[2], r.u, -r.q) <= 0 then redis.call('HDEL', KEYS[2], r.u) end
end
r.s = 'done'
r.st = status
r.t = nil
r.x = nil
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(r))
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
-- Orders reaching a final status: the HUD's persisted/s.
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'finalized', 1) end
return 'done'
