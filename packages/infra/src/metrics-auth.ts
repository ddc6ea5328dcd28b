import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * `GET /metrics` behind a bearer token (README.md#security, issue 10 L2): with `token` set, only a
 * request carrying `Authorization: Bearer <token>` is let through; any other gets 401 with
 * `WWW-Authenticate: Bearer` and nothing about the install. Without a token: open (development,
 * tests). Returns whether the caller may read the metrics.
 */
export function metricsAllowed(
  req: IncomingMessage,
  res: ServerResponse,
  token: string | undefined,
): boolean {
  if (!token) return true;
  const given = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  if (a.length === b.length && timingSafeEqual(a, b)) return true;
  req.resume();
  res
    .writeHead(401, {
      'Content-Type': 'text/plain; charset=utf-8',
      'WWW-Authenticate': 'Bearer realm="metrics"',
    })
    .end('metrics need a bearer token (METRICS_TOKEN)\n');
  return false;
}
