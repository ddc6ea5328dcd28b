import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * `TRUST_PROXY` (README.md#security): `false` — the socket's peer is the client; `{ hops: n }` — n
 * trusted proxies each append to X-Forwarded-For, so the client is the n-th entry from the
 * right (`true` = 1); `{ cidrs }` — X-Forwarded-For counts only when the socket peer is one
 * of these proxies, and the client is the first entry from the right that is not.
 */
export type TrustProxy = false | { hops: number } | { cidrs: string[] };

/** Parses TRUST_PROXY; throws a message naming what is wrong (env.ts turns it into an issue). */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  const v = (raw ?? '').trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true') return { hops: 1 };
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    if (hops > 100) throw new Error('a hop count of 1..100');
    return { hops };
  }
  const cidrs = v
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  for (const c of cidrs) cidrBlock(c); // throws on a bad entry
  if (cidrs.length === 0) throw new Error('false, true, a hop count or a list of CIDRs');
  return { cidrs };
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a single address (a /32 or /128). */
function cidrBlock(cidr: string, list = new BlockList()): BlockList {
  const [addr = '', bits] = cidr.split('/');
  const family = isIP(addr);
  if (family === 0) throw new Error(`not an address or CIDR: ${cidr}`);
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!/^\d+$/.test(bits ?? String(max)) || prefix > max) throw new Error(`bad prefix length: ${cidr}`);
  list.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return list;
}

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`, how a dual-stack socket reports IPv4) as plain IPv4. */
function plain(addr: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(addr);
  return m?.[1] ?? addr;
}

function forwardedFor(req: IncomingMessage): string[] {
  const xff = req.headers['x-forwarded-for'];
  const joined = Array.isArray(xff) ? xff.join(',') : (xff ?? '');
  return joined
    .split(',')
    .map((e) => plain(e.trim()))
    .filter(Boolean);
}

/** The caller's address for rate limits and the audit log, as TRUST_PROXY says. */
export function clientIpOf(trust: TrustProxy | boolean): (req: IncomingMessage) => string {
  const mode: TrustProxy = trust === true ? { hops: 1 } : trust;
  const socketIp = (req: IncomingMessage) => plain(req.socket.remoteAddress ?? 'unknown');
  if (!mode) return socketIp;
  // An entry that is not an address (garbage a client put there) never becomes a limit's key.
  const pick = (req: IncomingMessage, entry: string | undefined) =>
    entry && isIP(entry) ? entry : socketIp(req);
  if ('hops' in mode) {
    return (req) => {
      const entries = forwardedFor(req);
      if (entries.length === 0) return socketIp(req);
      // Fewer entries than trusted hops: the furthest one is the best we know.
      return pick(req, entries[Math.max(0, entries.length - mode.hops)]);
    };
  }
  const trusted = new BlockList();
  for (const c of mode.cidrs) cidrBlock(c, trusted);
  const isTrusted = (a: string) => {
    const family = isIP(a);
    return family !== 0 && trusted.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
  return (req) => {
    const peer = socketIp(req);
    if (!isTrusted(peer)) return peer; // not through our proxy: the header is the caller's word
    const entries = forwardedFor(req);
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i] ?? '';
      if (!isTrusted(e)) return pick(req, e);
    }
    return pick(req, entries[0]);
  };
}

/**
 * The unit every per-IP limit counts (README.md#security): an IPv4 address as it is (also when written
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
