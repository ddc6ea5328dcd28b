-- prelude.lua — joined in front of every Lua step when it is loaded (scripts.ts), so the
-- record transitions and the sale checks are written once, here
-- (docs/architecture.md#how-the-lua-steps-are-built).
--
-- KEYS: every step takes the same twelve keys of one sale, in this order (SALE_KEY_ORDER in
-- keys.ts). All carry the sale's hash tag {sale:<id>}, so each step runs on one Redis Cluster
-- shard; a step declares the keys it does not touch too, which costs nothing.
--   1 hot           hash  name, priceCents, total, remaining, limit, startsMs, endsMs, paused,
--                         epoch, expAt; counters accepted, finalized (the HUD's rates); runId,
--                         lastSave (the run fence, judge_sale), node (Redis Cluster's fence)
--   2 rebuild       str   present while the sale is being rebuilt
--   3 rebuildLease  str   the token of the one process rebuilding it
--   4 users         hash  userId -> units held by live orders and open reservations (I5);
--                         also "ip:<group>" -> units held by one IP group (IP_UNIT_LIMIT, §9)
--                         and "open:<userId>" -> the user's open orderIds, space-separated:
--                         order.mine's own index (§9); user ids never contain ':'
--   5 idem          hash  "<userId> <key>" -> orderId: the idempotency records (I4)
--   6 res           hash  orderId -> JSON reservation record {s,u,q,k,t,x,e,c,ts,st,g}
--   7 outbox        zset  orderId scored by lease expiry (ms): records still `reserved`
--   8 open          set   orderIds `reserved` or `published`: the sale's unsettled backlog
-- The waiting room of a queued sale (docs/architecture.md#the-waiting-room; the hot hash holds qRate, qTtlMs, qFactor).
-- No rebuild or flush touches these four:
--   9 qTix          hash  userId -> "<member>|<admitted at ms or empty>"; and the room's
--                         counters '#cursor' (admitted so far, in line order), '#joins',
--                         '#seq' (post-start arrivals), '#tok' '#tokAt' (the admission bucket)
--  10 qLine         zset  member "<join n>:<userId>" scored by place: a random number in
--                         [0, 1) before the start, 1 + arrival number after it
--  11 qWin          zset  members admitted within the last second, scored by admission ms
--  12 qOut          zset  userId -> admission ms, while admitted without an accepted order
local K_HOT, K_REBUILD, K_REBUILD_LEASE, K_USERS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_IDEM, K_RES, K_OUTBOX, K_OPEN = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local K_Q_TIX, K_Q_LINE, K_Q_WIN, K_Q_OUT = KEYS[9], KEYS[10], KEYS[11], KEYS[12]

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

-- Gives each existing key of `keys` the sale's expiry `expAt` (Unix seconds; nil: none set),
-- writing only where it is not already that (docs/architecture.md#expiry-and-eviction). A
-- step that touches a key calls it: the first write to a new key sets its expiry, and a changed
-- expAt (an admin moved endsAt) reaches each key at its next write. EXPIRETIME is a read
-- (Redis >= 7.0): the common case — expiry already right — writes, replicates and appends
-- nothing, where an EXPIREAT per key and step would (a join made 9 calls for this, 4 of them
-- writes; a reservation 5 writes).
local function keep_expiry(expAt, keys)
  if not expAt then return end
  for _, key in ipairs(keys) do
    local cur = redis.call('EXPIRETIME', key)
    if cur ~= -2 and cur ~= expAt then redis.call('EXPIREAT', key, expAt) end
  end
end

-- The sale checks of a new reservation, in the order of
-- docs/architecture.md#judging-order-of-a-purchase: hot state present and not being
-- rebuilt, window, pause (I6: inside the same atomic step as the reservation), the user's
-- quantity (I5: also when quantity > limit) and stock (no partial fills). A missing stock key
-- means "rebuilding", never "sold out". Returns the sale's hot fields, or nil and the refusal:
-- 'REBUILDING' 'SALE_ENDED' 'SALE_PAUSED' 'SALE_NOT_STARTED' 'USER_LIMIT' 'IP_LIMIT' 'SOLD_OUT'.
-- `ip` = {field = 'ip:<group>', limit = n} caps the units one IP group holds (README.md#security), or nil.
--
-- Last, the run fence (docs/architecture.md#when-a-rebuild-starts): a hot state built under
-- another Redis run (`runId`, written by write-hot-state.lua) may be older than what was sold
-- since — a restart that loaded a snapshot or an append-only file behind its last writes — so
-- it sells nothing: the sale is flagged and answers 'REBUILDING' until a rebuild from
-- PostgreSQL writes the current run's id. Checked only before a reservation (a refusal on old
-- numbers reserves nothing). The run_id is in INFO, ~10 µs of Redis per call (a third of a
-- reservation), so it is read only when LASTSAVE (~0.3 µs) differs from the value the hot hash
-- recorded (`lastSave`): a restart sets LASTSAVE to the second it started, and every save moves
-- it. A value is recorded only once its second has passed (record_last_save), so a later
-- restart, which starts in a later second, can never show the same one. LASTSAVE is an @admin
-- command: a Redis user without it (the deployments grant it: +lastsave) makes the fence read
-- INFO at every reservation instead.
local function last_save()
  local r = redis.pcall('LASTSAVE')
  if type(r) == 'number' then return r end
  return nil
end

local function record_last_save(now, saved)
  if saved and math.floor(now / 1000) > saved then redis.call('HSET', K_HOT, 'lastSave', saved) end
end

local function judge_sale(now, userId, qty, ip)
  if redis.call('EXISTS', K_REBUILD) == 1 then return nil, 'REBUILDING' end
  local h = redis.call('HMGET', K_HOT, 'remaining', 'limit', 'startsMs', 'endsMs', 'paused', 'epoch', 'expAt', 'runId',
    'lastSave')
  if not h[1] then return nil, 'REBUILDING' end
  if now >= tonumber(h[4]) then return nil, 'SALE_ENDED' end
  if h[5] == '1' then return nil, 'SALE_PAUSED' end
  if now < tonumber(h[3]) then return nil, 'SALE_NOT_STARTED' end
  local limit = tonumber(h[2])
  local held = tonumber(redis.call('HGET', K_USERS, userId) or '0')
  if qty > limit or held + qty > limit then return nil, 'USER_LIMIT' end
  if ip and tonumber(redis.call('HGET', K_USERS, ip.field) or '0') + qty > ip.limit then
    return nil, 'IP_LIMIT'
  end
  if tonumber(h[1]) < qty then return nil, 'SOLD_OUT' end
  if h[8] then
    local saved = last_save()
    if not saved or tostring(saved) ~= h[9] then
      local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
      if run_id and run_id ~= h[8] then
        -- The flag lives as long as the sale's keys: an ended sale is never rebuilt.
        if h[7] then redis.call('SET', K_REBUILD, '1', 'EXAT', h[7]) else redis.call('SET', K_REBUILD, '1') end
        return nil, 'REBUILDING'
      end
      record_last_save(now, saved)
    end
  end
  return { epoch = h[6], expAt = h[7] }
end

-- order.mine's per-user index of open orders (README.md#security: no read scans other users' data).
-- A user holds at most `limit` units, so the list stays short.
local function index_open(userId, orderId)
  local f = 'open:' .. userId
  local cur = redis.call('HGET', K_USERS, f)
  if cur then
    for id in string.gmatch(cur, '%S+') do
      if id == orderId then return end
    end
    redis.call('HSET', K_USERS, f, cur .. ' ' .. orderId)
  else
    redis.call('HSET', K_USERS, f, orderId)
  end
end

local function unindex_open(userId, orderId)
  local f = 'open:' .. userId
  local cur = redis.call('HGET', K_USERS, f)
  if not cur then return end
  local rest = {}
  for id in string.gmatch(cur, '%S+') do
    if id ~= orderId then rest[#rest + 1] = id end
  end
  if #rest == 0 then redis.call('HDEL', K_USERS, f) else redis.call('HSET', K_USERS, f, table.concat(rest, ' ')) end
end

-- Takes the units of an order the sale checks accepted: stock, the user's count, the
-- idempotency record, a `reserved` record with its lease, the outbox entry and the open set.
-- `o` = {orderId, userId, key, qty, token, leaseMs, correlationId, replayGen (or nil),
-- ipField (or nil): the IP group's counter, kept in the record so its units come back}.
-- Returns the lease expiry (ms).
local function reserve_units(now, sale, o)
  local expiry = now + o.leaseMs
  redis.call('HINCRBY', K_HOT, 'remaining', -o.qty)
  redis.call('HINCRBY', K_USERS, o.userId, o.qty)
  if o.ipField then redis.call('HINCRBY', K_USERS, o.ipField, o.qty) end
  redis.call('HSET', K_IDEM, idem_field(o.userId, o.key), o.orderId)
  put_record(o.orderId, {
    s = 'reserved', u = o.userId, q = o.qty, k = o.key, t = o.token, x = expiry,
    e = tonumber(sale.epoch), c = o.correlationId, ts = now, g = o.replayGen, i = o.ipField,
  })
  redis.call('ZADD', K_OUTBOX, expiry, o.orderId)
  redis.call('SADD', K_OPEN, o.orderId)
  index_open(o.userId, o.orderId)
  -- Keys created here get the sale's expiry like the rest of its keys
  -- (docs/architecture.md#expiry-and-eviction).
  keep_expiry(tonumber(sale.expAt), { K_USERS, K_IDEM, K_RES, K_OUTBOX, K_OPEN })
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
    if r.i and redis.call('HINCRBY', K_USERS, r.i, -r.q) <= 0 then redis.call('HDEL', K_USERS, r.i) end
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
  unindex_open(r.u, orderId)
end

-- Adds to one of the hot hash's counters, never creating a missing hot state.
local function count(field)
  if redis.call('EXISTS', K_HOT) == 1 then redis.call('HINCRBY', K_HOT, field, 1) end
end

-- The waiting room as a reply (docs/architecture.md#the-waiting-room), for one user's ticket (`member`, `admit`; nil when
-- none) or for nobody: {tag, now, cursor, line length, remaining, startsMs, endsMs, paused,
-- qRate, qTtlMs, admitted in the last second, outstanding, rank of member (-1), admitted at}.
-- Every number as a string; the server derives the ticket's state from them (tickets.ts).
local function room_reply(tag, now, member, admit)
  local h = redis.call('HMGET', K_HOT, 'remaining', 'startsMs', 'endsMs', 'paused', 'qRate', 'qTtlMs')
  local cursor = redis.call('HGET', K_Q_TIX, '#cursor') or '0'
  local rank = -1
  if member then rank = redis.call('ZRANK', K_Q_LINE, member) or -1 end
  local ttl = tonumber(h[6] or '0')
  return {
    tag, tostring(now), cursor, tostring(redis.call('ZCARD', K_Q_LINE)), h[1] or '0', h[2] or '0',
    h[3] or '0', h[4] or '0', h[5] or '0', h[6] or '0',
    tostring(redis.call('ZCOUNT', K_Q_WIN, now - 1000, '+inf')),
    tostring(redis.call('ZCOUNT', K_Q_OUT, '(' .. (now - ttl), '+inf')),
    tostring(rank), admit or '',
  }
end

-- A user's ticket: its line member and admission time (nil while waiting), or nil.
local function get_ticket(userId)
  local raw = redis.call('HGET', K_Q_TIX, userId)
  if not raw then return nil end
  local bar = string.find(raw, '|', 1, true)
  local admit = string.sub(raw, bar + 1)
  return { member = string.sub(raw, 1, bar - 1), admit = admit ~= '' and admit or nil }
end

-- ---- the step ----
