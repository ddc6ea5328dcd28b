-- write-hot-state.lua — SPEC §4 step 7: the last step of a rebuild (or the first write of a
-- new sale). Replaces the sale's hot state with what PostgreSQL holds, but only while the
-- caller still owns the rebuild lease, so a stalled rebuilder cannot overwrite a newer one.
-- KEYS: 1 hot, 2 rebuild (flag), 3 lease, 4 users, 5 idem, 6 res, 7 outbox, 8 open
-- ARGV: 1 lease token ('' = a new sale, created under its PostgreSQL insert), 2 hot fields (JSON
--       object), 3 users (JSON object userId -> units), 4 orders (JSON array of
--       [orderId, userId, key, quantity, status, correlationId, epoch]), 5 expireAt (unix s)
-- Returns 1 when written, 0 when the lease is not ours.
if ARGV[1] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
for i = 4, 8 do redis.call('DEL', KEYS[i]) end
redis.call('DEL', KEYS[1])
local hot = cjson.decode(ARGV[2])
for k, v in pairs(hot) do redis.call('HSET', KEYS[1], k, tostring(v)) end
for u, n in pairs(cjson.decode(ARGV[3])) do
  if tonumber(n) > 0 then redis.call('HSET', KEYS[4], u, n) end
end
for _, o in ipairs(cjson.decode(ARGV[4])) do
  local id, u, k = o[1], o[2], o[3]
  redis.call('HSET', KEYS[5], u .. ' ' .. k, id)
  redis.call('HSET', KEYS[6], id, cjson.encode({
    s = 'done', u = u, k = k, q = o[4], st = o[5], c = o[6], e = o[7],
  }))
end
local expAt = tonumber(ARGV[5])
for i = 1, 8 do
  if i ~= 2 and i ~= 3 and redis.call('EXISTS', KEYS[i]) == 1 then redis.call('EXPIREAT', KEYS[i], expAt) end
end
redis.call('DEL', KEYS[2])
redis.call('DEL', KEYS[3])
return 1
