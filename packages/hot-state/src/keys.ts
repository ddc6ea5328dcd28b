/**
 * Redis key names of one install (SPEC §4). Every key of a sale carries the hash tag
 * `{sale:<id>}` so the scripts touching several of them run on Redis Cluster too; every key
 * starts with the namespace so installs and test runs can share one Redis.
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

export function globalKeys(namespace: string) {
  return {
    adminSession: (id: string) => `${namespace}:admin:session:${id}`,
    rateLimitPrefix: `${namespace}:rl`,
    /** The Redis `run_id` last seen by any server (SPEC §4 step 8). */
    redisRunId: `${namespace}:redis-run-id`,
  };
}
