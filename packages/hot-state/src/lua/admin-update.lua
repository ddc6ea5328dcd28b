-- admin-update.lua — SPEC §4 step 7: an admin write's Redis half; PostgreSQL is written first.
-- Pause and resume run while the caller holds the sale row FOR UPDATE. A restock runs after
-- its PostgreSQL commit and carries the new *absolute* total: it raises total and remaining
-- by the difference only when Redis is behind, so a rebuild that already read the new total,
-- or a second restock arriving out of order, never adds the units twice (I1).
-- KEYS: 1 hot, 2 rebuild.   ARGV: 1 op ('pause' | 'resume' | 'restock'), 2 restock: new total.
-- Returns 'OK', 'MISSING' (no hot state: the next rebuild reads PostgreSQL) or 'REBUILDING'.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'MISSING' end
local op = ARGV[1]
if op == 'pause' then
  redis.call('HSET', KEYS[1], 'paused', '1')
elseif op == 'resume' then
  redis.call('HSET', KEYS[1], 'paused', '0')
elseif op == 'restock' then
  -- The rebuild recomputes remaining from the new total: a restock meanwhile must wait.
  if redis.call('EXISTS', KEYS[2]) == 1 then return 'REBUILDING' end
  local d = tonumber(ARGV[2]) - tonumber(redis.call('HGET', KEYS[1], 'total') or '0')
  if d > 0 then
    redis.call('HINCRBY', KEYS[1], 'total', d)
    redis.call('HINCRBY', KEYS[1], 'remaining', d)
  end
else
  return redis.error_reply('unknown op')
end
return 'OK'
