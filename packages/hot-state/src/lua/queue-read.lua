-- queue-read.lua — docs/architecture.md#the-waiting-room `queue.get` and the shared read of `live.queue`: the room's
-- figures and, for a user, their ticket. Writes nothing.
-- KEYS: the sale's twelve keys (prelude.lua).   ARGV: 1 userId ('' = the room only).
-- Returns room_reply('OK' | 'NONE', …) (prelude.lua): NONE when the user holds no ticket.
local now = now_ms()
if ARGV[1] == '' then return room_reply('OK', now, nil, nil) end
local t = get_ticket(ARGV[1])
if not t then return room_reply('NONE', now, nil, nil) end
return room_reply('OK', now, t.member, t.admit)
