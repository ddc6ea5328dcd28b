import pg from 'pg';
// Not `@surge/hot-state`: its index loads the .lua scripts, which tsx cannot import.
import { saleKeys } from '../../../packages/hot-state/src/keys.ts';
import { testRedis } from '../redis-client.ts';
import { type RoomObservation, readRoom } from './room.ts';

/**
 * What one sale left behind, read from PostgreSQL (the truth: its row and its orders) and
 * Redis (its hot state). Plain data: `judge()` decides what it means.
 */
export interface SaleObservation {
  saleId: string;
  /** The sale row; null when PostgreSQL has none. */
  sale: { totalStock: number; perUserLimit: number } | null;
  rows: OrderRow[];
  hot: {
    /** `remaining` as Redis holds it (null: no hot state). */
    remaining: string | null;
    /** Units held per user (the `users` hash). */
    users: Record<string, string>;
    /** Reservation records not yet settled, and outbox entries. */
    open: number;
    outbox: number;
  };
  /** A queued sale's waiting room (docs/architecture.md#the-waiting-room); absent on an unqueued sale. */
  room?: RoomObservation | undefined;
}

export interface OrderRow {
  id: string;
  userId: string;
  quantity: number;
  status: string;
  idempotencyKey: string;
}

/** A pg `Client` or `Pool`, or anything else that answers SQL the same way. */
export interface Sql {
  query<R>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}
/** A PrismaClient (only its raw-SQL door is used). */
export interface PrismaSql {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
}
/** PostgreSQL: a URL (a connection is opened and closed), a pg client or pool, or Prisma. */
export type Database = string | Sql | PrismaSql;

/** The reads the checker makes; an ioredis client has them. */
export interface RedisReads {
  hget(key: string, field: string): Promise<string | null>;
  hgetall(key: string): Promise<Record<string, string>>;
  scard(key: string): Promise<number>;
  zcard(key: string): Promise<number>;
}
/** Redis: a URL (a connection is opened and closed) or a client. */
export type RedisSource = string | RedisReads;

export async function observeSale(o: {
  db: Database;
  redis: RedisSource;
  ns: string;
  saleId: string;
}): Promise<SaleObservation> {
  const [{ sale, rows }, [hot, room]] = await Promise.all([
    withSql(o.db, (sql) => readDatabase(sql, o.saleId)),
    withRedis(o.redis, (r) => Promise.all([readHotState(r, o.ns, o.saleId), readRoom(r, o.ns, o.saleId)])),
  ]);
  return { saleId: o.saleId, sale, rows, hot, room };
}

async function readDatabase(sql: Sql, saleId: string) {
  const [sales, rows] = await Promise.all([
    sql.query<{ totalStock: number; perUserLimit: number }>(
      'SELECT total_stock AS "totalStock", per_user_limit AS "perUserLimit" FROM sales WHERE id = $1',
      [saleId],
    ),
    sql.query<OrderRow>(
      `SELECT id, user_id AS "userId", quantity, status::text AS status, idempotency_key AS "idempotencyKey"
       FROM orders WHERE sale_id = $1`,
      [saleId],
    ),
  ]);
  const sale = sales.rows[0];
  return {
    sale: sale ? { totalStock: Number(sale.totalStock), perUserLimit: Number(sale.perUserLimit) } : null,
    rows: rows.rows.map((r) => ({ ...r, quantity: Number(r.quantity) })),
  };
}

async function readHotState(redis: RedisReads, ns: string, saleId: string) {
  const k = saleKeys(ns, saleId);
  const [remaining, users, open, outbox] = await Promise.all([
    redis.hget(k.hot, 'remaining'),
    redis.hgetall(k.users),
    redis.scard(k.open),
    redis.zcard(k.outbox),
  ]);
  return { remaining, users, open, outbox };
}

export async function withSql<T>(db: Database, fn: (sql: Sql) => Promise<T>): Promise<T> {
  if (typeof db !== 'string') return fn('$queryRawUnsafe' in db ? sqlOfPrisma(db) : db);
  const client = new pg.Client({ connectionString: db });
  // A server that goes away (the fault run restarts PostgreSQL) fails the query in flight; the
  // connection's own 'error' event must not end the process that observes.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function sqlOfPrisma(prisma: PrismaSql): Sql {
  return {
    query: async <R>(text: string, values: unknown[] = []) => ({
      rows: await prisma.$queryRawUnsafe<R[]>(text, ...values),
    }),
  };
}

export async function withRedis<T>(source: RedisSource, fn: (r: RedisReads) => Promise<T>): Promise<T> {
  if (typeof source !== 'string') return fn(source);
  const redis = testRedis(source);
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}
