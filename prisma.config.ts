// Prisma 7 reads its configuration here; the CLI is used only for `prisma generate` in this
// repository (migrations run through packages/db/src/migrate, see README "Migrations").
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations', seed: 'tsx prisma/seed.ts' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/surge' },
});
