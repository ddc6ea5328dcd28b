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
