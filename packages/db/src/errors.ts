/**
 * Classifying PostgreSQL errors, for the server and the worker alike. Imports nothing, so it
 * can be used (and unit-tested) without a generated Prisma client: `@surge/db/errors`.
 */

/** Prisma's unique-constraint violation. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'P2002';
}

/**
 * The one "is PostgreSQL down" classifier: whether an error means PostgreSQL is unreachable (the
 * worker stops pulling, backs off and resumes — never a reason to dead-letter,
 * docs/architecture.md#postgresql-outage; a rebuild reports it waits for PostgreSQL) rather than
 * something wrong with the data.
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
  /ECONNREFUSED|ECONNRESET|Connection terminated|connection.*(closed|refused|ended)|Can't reach database|terminating connection|the database system is (starting up|shutting down|not yet accepting connections)|timed out fetching a new connection|Client has encountered a connection error|DatabaseNotReachable|too many clients/i;

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const x = e as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      kind?: unknown;
      originalCode?: unknown;
      meta?: { code?: unknown };
    };
    if (typeof x.code === 'string' && UNAVAILABLE_CODES.has(x.code)) return true;
    if (typeof x.originalCode === 'string' && UNAVAILABLE_CODES.has(x.originalCode)) return true;
    // A raw query's failure (P2010) carries PostgreSQL's own SQLSTATE in `meta.code`.
    if (typeof x.meta?.code === 'string' && UNAVAILABLE_CODES.has(x.meta.code)) return true;
    if (typeof x.kind === 'string' && /DatabaseNotReachable|ConnectionClosed|SocketTimeout/.test(x.kind))
      return true;
    if (typeof x.message === 'string' && UNAVAILABLE_TEXT.test(x.message)) return true;
    e = x.cause;
  }
  return false;
}
