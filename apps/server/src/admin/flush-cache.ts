import { appError } from '../errors.ts';
import type { SaleCatalog } from '../sales/catalog.ts';
import type { RebuildCoordinator } from '../sales/rebuild.ts';

/**
 * `admin.flushCache`: rebuild one sale's hot state (or every known sale's) from PostgreSQL now,
 * and answer what each has left — or REBUILD_BLOCKED naming what each blocked one waits for.
 */
export class CacheAdmin {
  constructor(private readonly d: { catalog: SaleCatalog; rebuild: RebuildCoordinator }) {}

  async flush(saleId?: string) {
    const { catalog, rebuild } = this.d;
    if (saleId && !(await catalog.exists(saleId))) throw appError('SALE_NOT_FOUND');
    if (!saleId) await catalog.refresh();
    const ids = saleId ? [saleId] : catalog.ids();
    const results = await Promise.all(ids.map(async (id) => ({ saleId: id, r: await rebuild.run(id) })));
    const blocked = results.filter((x) => !x.r.ok);
    if (blocked.length > 0) {
      const waitingFor = blocked.flatMap((b) =>
        b.r.ok ? [] : b.r.waitingFor.map((w) => `${b.saleId}: ${w}`),
      );
      throw appError('REBUILD_BLOCKED', { retryAfterMs: 1000, waitingFor });
    }
    return { sales: results.map((x) => ({ saleId: x.saleId, remaining: x.r.ok ? x.r.remaining : 0 })) };
  }
}
