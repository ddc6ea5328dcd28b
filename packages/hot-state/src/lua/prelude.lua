-- prelude.lua — joined in front of every Lua step when it is loaded (scripts.ts), so the
-- record transitions and the sale checks are written once, here
-- (docs/architecture.md#how-the-lua-steps-are-built).
--
-- KEYS: every step takes the same eight keys of one sale, in this order (SALE_KEY_ORDER in
-- keys.ts). All carry the sale's hash tag {sale:<id>}, so each step runs on one Redis Cluster
-- shard; a step declares the keys it does not touch too, which costs nothing.
--   1 hot           hash  name, priceCents, total, remaining, limit, startsMs, endsMs, paused,
--                         epoch, expAt; counters accepted, finalized (the HUD's rates)
--   2 rebuild       str   present while the sale is being rebuilt
--   3 rebuildLease  str   the token of the one process rebuilding it
--   4 users         hash  userId -> units held by live orders and open reservations (I5)
--   5 idem          hash  "<userId> <key>" -> orderId: the idempotency records (I4)
--   6 res           hash  orderId -> JSON reservation record {s,u,q,k,t,x,e,c,ts,st,g}
--   7 outbox        zset  orderId scored by lease expiry (ms): records still `reserved`
--   8 open          set   orderIds `reserved` or `published`: the sale's unsettled backlog
local K_HOT, K_REBUILD, K_REBUILD_LEASE, K_USERS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_IDEM, K_RES, K_OUTBOX, K_OPEN = KEYS[5], KEYS[6], KEYS[7], KEYS[8]

-- The node fence (Redis Cluster only: IN_CLUSTER comes from scripts.ts). The hot
-- state records the node that built it (`node`, its cluster node id, written by
-- write-hot-state.lua). On any other node — a replica promoted without the last writes, a slot
-- moved — the sale's keys are stale: the step drops them first and so answers as for missing
-- hot state (SALE_REBUILDING, the rebuild from PostgreSQL), as after a restart without
-- persistence. Checked inside every step, so no step ever acts on stale keys.
local NODE_ID = IN_CLUSTER and redis.call('CLUSTER', 'MYID') or ''
if NODE_ID ~= '' and redis.call('EXISTS', K_HOT) == 1 and redis.call('HGET', K_HOT, 'node') ~= NODE_ID then
  for _, key in ipairs({ K_HOT, K_USERS, K_IDEM, K_RES, K_OUTBOX, K_OPEN }) do redis.call('DEL', key) end
end

-- Every time comes from Redis, never a server's clock: every server judges windows alike.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The reservation record of an order, or nil when there is none (never written, or lost).
local function get_record(orderId)
  local raw = redis.call('HGET', K_RES, orderId)
  if not raw then return nil end
  return cjson.decode(raw)
end

local function put_record(orderId, r)
  redis.call('HSET', K_RES, orderId, cjson.encode(r))
end

local function idem_field(userId, key)
  return userId .. ' ' .. key
end

-- The sale checks of a new reservation, in the order of
-- docs/architecture.md#judging-order-of-a-purchase: hot state present and not being
-- rebuilt, window, pause (I6: inside the same atomic step as the reservation), the user's
-- quantity (I5: also when quantity > limit) and stock (no partial fills). A missing stock key
-- means "rebuilding", never "sold out". Returns the sale's hot fields, or nil and the refusal:
-- 'REBUILDING' 'SALE_ENDED' 'SALE_PAUSED' 'SALE_NOT_STARTED' 'USER_LIMIT' 'SOLD_OUT'.
local function judge_sale(now, userId, qty)
  if redis.call('EXISTS', K_REBUILD) == 1 then return nil, 'REBUILDING' end
  local h = redis.call('HMGET', K_HOT, 'remaining', 'limit', 'startsMs', 'endsMs', 'paused', 'epoch', 'expAt')
  if not h[1] then return nil, 'REBUILDING' end
  if now >= tonumber(h[4]) then return nil, 'SALE_ENDED' end
  if h[5] == '1' then return nil, 'SALE_PAUSED' end
  if now < tonumber(h[3]) then return nil, 'SALE_NOT_STARTED' end
  local limit = tonumber(h[2])
  local held = tonumber(redis.call('HGET', K_USERS, userId) or '0')
  if qty > limit or held + qty > limit then return nil, 'USER_LIMIT' end
  if tonumber(h[1]) < qty then return nil, 'SOLD_OUT' end
  return { epoch = h[6], expAt = h[7] }
end

-- Takes the units of an order the sale checks accepted: stock, the user's count, the
-- idempotency record, a `reserved` record with its lease, the outbox entry and the open set.
-- `o` = {orderId, userId, key, qty, token, leaseMs, correlationId, replayGen (or nil)}.
-- Returns the lease expiry (ms).
local function reserve_units(now, sale, o)
  local expiry = now + o.leaseMs
  redis.call('HINCRBY', K_HOT, 'remaining', -o.qty)
  redis.call('HINCRBY', K_USERS, o.userId, o.qty)
  redis.call('HSET', K_IDEM, idem_field(o.userId, o.key), o.orderId)
  put_record(o.orderId, {
    s = 'reserved', u = o.userId, q = o.qty, k = o.key, t = o.token, x = expiry,
    e = tonumber(sale.epoch), c = o.correlationId, ts = now, g = o.replayGen,
  })
  redis.call('ZADD', K_OUTBOX, expiry, o.orderId)
  redis.call('SADD', K_OPEN, o.orderId)
  -- Keys created here get the sale's expiry like the rest of its keys
  -- (docs/architecture.md#expiry-and-eviction).
  local expAt = tonumber(sale.expAt)
  if expAt then
    for _, key in ipairs({ K_USERS, K_IDEM, K_RES, K_OUTBOX, K_OPEN }) do redis.call('EXPIREAT', key, expAt) end
  end
  return expiry
end

-- `reserved -> published` (after a PubAck, or a worker's claim): no lease any more, out of
-- the outbox; still open until it is done.
local function publish_record(orderId, r)
  r.s = 'published'
  r.t = nil
  r.x = nil
  put_record(orderId, r)
  redis.call('ZREM', K_OUTBOX, orderId)
end

-- Returns an order's units and the user's quota. Callers call it only on a transition that
-- happens once per order (they check the state first), so units come back at most once
-- (I1, I2). Never creates a missing stock key: a lost hot state is recomputed by the rebuild.
local function return_units(r)
  if redis.call('EXISTS', K_HOT) == 1 then
    redis.call('HINCRBY', K_HOT, 'remaining', r.q)
    if redis.call('HINCRBY', K_USERS, r.u, -r.q) <= 0 then redis.call('HDEL', K_USERS, r.u) end
  end
end

-- Settles a record for good: `released`, or `done` with the order's final status. It leaves
-- the outbox and the open set (the rebuild waits for the open set to empty).
local function close_record(orderId, r, state, status)
  r.s = state
  if status then r.st = status end
  r.t = nil
  r.x = nil
  put_record(orderId, r)
  redis.call('ZREM', K_OUTBOX, orderId)
  redis.call('SREM', K_OPEN, orderId)
end

-- Adds to one of the hot hash's counters, never creating a missing hot state.
local function count(field)
  if redis.call('EXISTS', K_HOT) == 1 then redis.call('HINCRBY', K_HOT, field, 1) end
end

-- ---- the step ----
