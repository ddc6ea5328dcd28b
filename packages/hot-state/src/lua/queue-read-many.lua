-- queue-read-many.lua — docs/architecture.md#the-waiting-room: the shared read of `live.queue`
-- with the places of many followers at once (one call per sale per tick for every follower of
-- a process whose own place is due, instead of one queue-read.lua per follower). Writes nothing.
-- KEYS: the sale's twelve keys (prelude.lua).   ARGV: the userIds.
-- Returns room_reply('OK', now, nil, nil) (prelude.lua), then for each userId in order its rank
-- (0-based place in the line, -1 without a ticket) and admission ms ('' when not admitted), as
-- queue-read.lua reads one user's in the same step.
local now = now_ms()
local reply = room_reply('OK', now, nil, nil)
for i = 1, #ARGV do
  local t = get_ticket(ARGV[i])
  local rank = -1
  if t then rank = redis.call('ZRANK', K_Q_LINE, t.member) or -1 end
  reply[#reply + 1] = tostring(rank)
  reply[#reply + 1] = (t and t.admit) or ''
end
return reply
