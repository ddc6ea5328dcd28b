-- reconcile-read.lua — docs/architecture.md#live-data, the HUD's live reconciliation: one atomic, read-only look at
-- a sale's hot state. Changes nothing.
-- KEYS: the sale's twelve keys (prelude.lua). ARGV: none.
-- Returns { remaining ('' when there is no hot state), Σ quantity of the open records,
-- the open records' orderIds... } — the caller adds the live rows PostgreSQL holds for orders
-- that have no open record.
local remaining = redis.call('HGET', K_HOT, 'remaining')
if not remaining then return { '', 0 } end
local out = { remaining, 0 }
local held = 0
for _, id in ipairs(redis.call('SMEMBERS', K_OPEN)) do
  local raw = redis.call('HGET', K_RES, id)
  if raw then
    local r = cjson.decode(raw)
    if r.s == 'reserved' or r.s == 'published' then
      held = held + tonumber(r.q)
      out[#out + 1] = id
    end
  end
end
out[2] = held
return out
