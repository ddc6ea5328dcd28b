import type { PrismaClient } from '@surge/db';

/**
 * Which sales exist. Known ids are kept in memory so `order.place` answers SALE_NOT_FOUND
 * without a database round trip on the hot path; an unknown id is looked up in PostgreSQL
 * (a sale created through another server) and a miss is remembered briefly so random ids
 * cannot flood the database.
 */
export class SaleCatalog {
  private readonly known = new Set<string>();
  private readonly misses = new Map<string, number>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly missTtlMs = 1000,
  ) {}

  ids(): string[] {
    return [...this.known];
  }

  add(id: string): void {
    this.known.add(id);
    this.misses.delete(id);
  }

  async refresh(): Promise<void> {
    const rows = await this.prisma.sale.findMany({ select: { id: true } });
    for (const r of rows) this.known.add(r.id);
  }

  exists(id: string): boolean | Promise<boolean> {
    if (this.known.has(id)) return true;
    const miss = this.misses.get(id);
    if (miss !== undefined && miss > Date.now()) return false;
    return this.prisma.sale.findUnique({ where: { id }, select: { id: true } }).then((row) => {
      if (row) this.add(id);
      else {
        if (this.misses.size > 10_000) this.misses.clear();
        this.misses.set(id, Date.now() + this.missTtlMs);
      }
      return row !== null;
    });
  }
}
