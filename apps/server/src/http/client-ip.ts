import type { IncomingMessage } from 'node:http';

/** The caller's address for rate limits and the audit log; `TRUST_PROXY` reads X-Forwarded-For. */
export function clientIpOf(trustProxy: boolean): (req: IncomingMessage) => string {
  return (req) => {
    if (trustProxy) {
      const xff = req.headers['x-forwarded-for'];
      // The rightmost entry is the one our trusted proxy appended; entries to its left
      // come from the client and can say anything.
      const last = (Array.isArray(xff) ? xff.join(',') : xff)?.split(',').at(-1)?.trim();
      if (last) return last;
    }
    return req.socket.remoteAddress ?? 'unknown';
  };
}

/**
 * The unit every per-IP limit counts (SPEC §9): an IPv4 address as it is (also when written
 * IPv4-mapped, `::ffff:a.b.c.d`), an IPv6 address by its /64 — one subscriber usually holds a
 * whole /64, so rotating addresses inside it must not buy fresh limits.
 */
export function ipGroup(ip: string): string {
  const addr = ip.trim().toLowerCase();
  if (!addr.includes(':')) return addr;
  const mapped = /^(?:0{0,4}:){0,5}(?:0{0,4}:)?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(
    addr.replace(/^::/, '0::'),
  );
  if (mapped?.[1]) return mapped[1];
  const bare = addr.split('%')[0] ?? addr; // no zone index
  const halves = bare.split('::');
  if (halves.length > 2) return bare;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  // An embedded IPv4 tail takes two groups; only the first four groups matter here.
  const tailGroups = tail.flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const zeros = halves.length === 2 ? Math.max(0, 8 - head.length - tailGroups.length) : 0;
  const groups = [...head, ...Array<string>(zeros).fill('0'), ...tailGroups];
  const prefix = groups.slice(0, 4).map((g) => (Number.parseInt(g, 16) || 0).toString(16));
  return `${prefix.join(':')}::/64`;
}
