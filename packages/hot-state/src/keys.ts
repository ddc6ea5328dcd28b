/**
 * Redis key names of one install (docs/architecture.md#keys-subjects-and-tables). Every key of a
 * sale carries the hash tag `{sale:<id>}` so the scripts touching several of them run on Redis
 * Cluster too; every key starts with the namespace so installs and test runs can share one Redis.
 */
export function saleKeys(namespace: string, saleId: string) {
  const p = `${namespace}:{sale:${saleId}}:`;
  return {
    hot: `${p}hot`,
    rebuild: `${p}rebuild`,
    rebuildLease: `${p}rebuild:lease`,
    users: `${p}users`,
    idem: `${p}idem`,
    res: `${p}res`,
    outbox: `${p}outbox`,
    open: `${p}open`,
  };
}
export type SaleKeys = ReturnType<typeof saleKeys>;

/**
 * Unclassified processing failures per order of a sale (a hash: orderId → count), the worker's
 * dead-letter count. Not one of the Lua steps' keys; under the sale's hash tag all the same.
 */
export function failureCountKey(namespace: string, saleId: string): string {
  return `${namespace}:{sale:${saleId}}:failures`;
}

/**
 * The one order in which every Lua step takes a sale's keys (KEYS[1..8]; named at the top of
 * lua/prelude.lua). Every step gets all eight: they share the hash tag, so they stay on one
 * Redis Cluster shard, and no caller can pass them in the wrong order.
 */
export const SALE_KEY_ORDER = [
  'hot',
  'rebuild',
  'rebuildLease',
  'users',
  'idem',
  'res',
  'outbox',
  'open',
] as const satisfies readonly (keyof SaleKeys)[];

export function saleKeyList(k: SaleKeys): string[] {
  return SALE_KEY_ORDER.map((name) => k[name]);
}

export function globalKeys(namespace: string) {
  return {
    adminSession: (id: string) => `${namespace}:admin:session:${id}`,
    rateLimitPrefix: `${namespace}:rl`,
    /** The Redis `run_id` last seen by any server (docs/architecture.md#when-a-rebuild-starts). */
    redisRunId: `${namespace}:redis-run-id`,
  };
}

/**
 * A reservation record as the Lua steps store it (JSON in the sale's `res` hash). Short field
 * names keep the hash small: it holds one record per order until the sale's keys expire.
 */
export interface ReservationRecord {
  /** state: reserved → published → done, or reserved → released */
  s: 'reserved' | 'published' | 'done' | 'released';
  /** userId, quantity, idempotency key, sale epoch, correlation id */
  u: string;
  q: number;
  k: string;
  e: number;
  c: string;
  /** reserved at (Redis time, ms); absent on records a rebuild wrote from PostgreSQL */
  ts?: number;
  /** lease token and expiry (ms) while `reserved` */
  t?: string;
  x?: number;
  /** the order's status once `done` */
  st?: string;
  /** admin.dlq.replay: the replay generation the message must carry */
  g?: number;
}

export function parseRecord(raw: string): ReservationRecord {
  return JSON.parse(raw) as ReservationRecord;
}
