/**
 * Whether an error means "PostgreSQL is unreachable" (stop pulling, back off, resume — never
 * a reason to dead-letter, SPEC §4 step 6) rather than something wrong with a message.
 */
const UNAVAILABLE_CODES = new Set([
  'P1001',
  'P1002',
  'P1008',
  'P1017',
  'P2024',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
const UNAVAILABLE_TEXT =
  /ECONNREFUSED|ECONNRESET|Connection terminated|connection.*(closed|refused|ended)|Can't reach database|terminating connection|the database system is (starting up|shutting down)|timed out fetching a new connection|Client has encountered a connection error|DatabaseNotReachable|too many clients/i;

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const x = e as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      kind?: unknown;
      originalCode?: unknown;
    };
    if (typeof x.code === 'string' && UNAVAILABLE_CODES.has(x.code)) return true;
    if (typeof x.originalCode === 'string' && UNAVAILABLE_CODES.has(x.originalCode)) return true;
    if (typeof x.kind === 'string' && /DatabaseNotReachable|ConnectionClosed|SocketTimeout/.test(x.kind))
      return true;
    if (typeof x.message === 'string' && UNAVAILABLE_TEXT.test(x.message)) return true;
    e = x.cause;
  }
  return false;
}
