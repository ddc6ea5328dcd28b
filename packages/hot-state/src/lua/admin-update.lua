-- admin-update.lua — SPEC §4 step 7: an admin write's Redis half, run while the caller holds
-- the sale row FOR UPDATE in PostgreSQL (PostgreSQL is written first).
-- KEYS: 1 hot, 2 rebuild.   ARGV: 1 op ('pause' | 'resume' | 'restock'), 2 restock delta.
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
  local d = tonumber(ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'total', d)
  redis.call('HINCRBY', KEYS[1], 'remaining', d)
else
  return redis.error_reply('unknown op')
end
return 'OK'
