import { PrismaPg } from '@prisma/adapter-pg';
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
