-- admin-update.lua — an admin write's Redis half; PostgreSQL is written first
-- (docs/architecture.md#admin-writes).
-- Pause and resume run while the caller holds the sale row FOR UPDATE. A restock runs after
-- its PostgreSQL commit and carries the new *absolute* total: it raises total and remaining
-- by the difference only when Redis is behind, so a rebuild that already read the new total,
-- or a second restock arriving out of order, never adds the units twice (I1).
-- KEYS: the sale's eight keys (prelude.lua).
-- ARGV: 1 op ('pause' | 'resume' | 'restock'), 2 restock: new total.
-- Returns 'OK', 'MISSING' (no hot state: the next rebuild reads PostgreSQL) or 'REBUILDING'.
if redis.call('EXISTS', K_HOT) == 0 then return 'MISSING' end
local op = ARGV[1]
if op == 'pause' then
  redis.call('HSET', K_HOT, 'paused', '1')
elseif op == 'resume' then
  redis.call('HSET', K_HOT, 'paused', '0')
elseif op == 'restock' then
  -- The rebuild recomputes remaining from the new total: a restock meanwhile must wait.
  if redis.call('EXISTS', K_REBUILD) == 1 then return 'REBUILDING' end
  local d = tonumber(ARGV[2]) - tonumber(redis.call('HGET', K_HOT, 'total') or '0')
  if d > 0 then
    redis.call('HINCRBY', K_HOT, 'total', d)
    redis.call('HINCRBY', K_HOT, 'remaining', d)
  end
else
  return redis.error_reply('unknown op')
end
return 'OK'
