-- write-hot-state.lua — docs/architecture.md#the-rebuild: the last step of a rebuild (or the first
-- write of a new sale). Replaces the sale's hot state with what PostgreSQL holds, but only while
-- the caller still owns the rebuild lease, so a stalled rebuilder cannot overwrite a newer one.
-- KEYS: the sale's twelve keys (prelude.lua).
-- ARGV: 1 lease token ('' = a new sale, created under its PostgreSQL insert), 2 hot fields (JSON
--       object), 3 users (JSON object userId -> units), 4 orders (JSON array of
--       [orderId, userId, key, quantity, status, correlationId, epoch]), 5 expireAt (unix s)
-- Returns 1 when written, 0 when the lease is not ours. The hot hash also gets `node` (Redis
-- Cluster), `runId`, the INFO run_id of the Redis that holds it, and `lastSave`, its LASTSAVE.
if ARGV[1] ~= '' and redis.call('GET', K_REBUILD_LEASE) ~= ARGV[1] then return 0 end
-- The Redis run this state is built under (nil on a server whose INFO has no run_id): after a
-- restart, a sale already rebuilt under the new run needs no second rebuild
-- (apps/server/src/sales/redis-restart.ts; Redis Cluster keeps its own per-shard id instead).
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local saved = last_save() -- nil for a user without LASTSAVE: the fence then reads INFO each time
local state = { K_HOT, K_USERS, K_IDEM, K_RES, K_OUTBOX, K_OPEN }
for _, key in ipairs(state) do redis.call('DEL', key) end
for k, v in pairs(cjson.decode(ARGV[2])) do redis.call('HSET', K_HOT, k, tostring(v)) end
if NODE_ID ~= '' then redis.call('HSET', K_HOT, 'node', NODE_ID) end -- the fence (prelude.lua)
if run_id then
  redis.call('HSET', K_HOT, 'runId', run_id)
  record_last_save(now_ms(), saved) -- the run fence's cheap first look (prelude.lua)
end
for u, n in pairs(cjson.decode(ARGV[3])) do
  if tonumber(n) > 0 then redis.call('HSET', K_USERS, u, n) end
end
for _, o in ipairs(cjson.decode(ARGV[4])) do
  local id, u, k = o[1], o[2], o[3]
  redis.call('HSET', K_IDEM, idem_field(u, k), id)
  put_record(id, { s = 'done', u = u, k = k, q = o[4], st = o[5], c = o[6], e = o[7] })
end
local expAt = tonumber(ARGV[5])
for _, key in ipairs(state) do
  if redis.call('EXISTS', key) == 1 then redis.call('EXPIREAT', key, expAt) end
end
redis.call('DEL', K_REBUILD)
redis.call('DEL', K_REBUILD_LEASE)
return 1
