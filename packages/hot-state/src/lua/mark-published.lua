-- mark-published.lua — SPEC §4 step 2: after a PubAck, `reserved -> published`.
-- KEYS: 1 res, 2 outbox, 3 hot (its `accepted` counter feeds the HUD's accepted/s).
-- ARGV: 1 orderId.
-- No lease needed: a PubAck proves the message is stored, whoever holds the lease.
-- Returns the record's state after the call: 'published', 'done' (a worker was faster),
-- 'released' (a sweeper gave it up: the worker will drop the message), or 'GONE' (Redis lost it).
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 'GONE' end
local r = cjson.decode(raw)
if r.s == 'reserved' then
  r.s = 'published'
  r.t = nil
  r.x = nil
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(r))
  redis.call('ZREM', KEYS[2], ARGV[1])
  if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HINCRBY', KEYS[3], 'accepted', 1) end
  return 'published'
end
return r.s
