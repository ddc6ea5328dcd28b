-- mark-published.lua — after a PubAck, `reserved -> published`
-- (docs/architecture.md#publish-and-settle). No lease needed: a PubAck proves the message is
-- stored, whoever holds the lease.
-- KEYS: the sale's eight keys (prelude.lua).   ARGV: 1 orderId.
-- Returns the record's state after the call: 'published', 'done' (a worker was faster),
-- 'released' (a sweeper gave it up: the worker will drop the message), or 'GONE' (Redis lost it).
local r = get_record(ARGV[1])
if not r then return 'GONE' end
if r.s == 'reserved' then
  publish_record(ARGV[1], r)
  count('accepted') -- the HUD's accepted/s
  return 'published'
end
return r.s
