import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/client.ts';

export { isDatabaseUnavailable, isUniqueViolation } from './errors.ts';
export type { Prisma } from './generated/client.ts';
export { OrderStatus, PrismaClient } from './generated/client.ts';

/**
 * One Prisma client per process, through the `pg` driver adapter (Prisma 7 runs its query
 * compiler in WASM and talks to PostgreSQL through `pg`).
 */
export function createPrisma(databaseUrl: string, opts: { max?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: opts.max ?? 10 });
  return new PrismaClient({ adapter });
}

/**
 * What the worker's hot statements need from PostgreSQL: one parameterised query, its rows. A
 * `pg.Pool` is one (createSqlPool); so is a `pg.Client`.
 */
export interface Sql {
  query<R extends object>(q: { name?: string; text: string; values: unknown[] }): Promise<{ rows: R[] }>;
}

/**
 * A plain `pg` pool beside the Prisma client, for the worker's per-batch statements: through
 * Prisma's `$queryRaw` each batch paid for its query compiler and parameter conversion (~8 % of
 * the worker's CPU in `npm run bench:profile`); named statements are also parsed and planned
 * once per connection instead of once per batch. Errors are pg's own, which
 * isDatabaseUnavailable classifies by SQLSTATE and message.
 */
export function createSqlPool(
  databaseUrl: string,
  opts: { max?: number; onError?: (err: Error) => void } = {},
) {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: opts.max ?? 4,
    connectionTimeoutMillis: 5_000,
    allowExitOnIdle: true,
  });
  // An idle client whose connection drops emits here; without a listener it would crash the process.
  pool.on('error', (err) => opts.onError?.(err));
  return pool;
}
