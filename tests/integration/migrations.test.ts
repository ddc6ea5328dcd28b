// prisma/migrations against a fresh PostgreSQL database, through the offline migration library:
// they apply, record the same `_prisma_migrations` rows `prisma migrate deploy` would, match
// schema.prisma exactly (no drift), are idempotent, and a hand-made change is caught as drift.
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyMigrations, checkDrift, dropDatabase, urlForDatabase } from '@surge/db/migrate';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const migrationsDir = path.join(root, 'prisma', 'migrations');
const schemaPath = path.join(root, 'prisma', 'schema.prisma');
const serverUrl = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/surge';
const databaseUrl = urlForDatabase(serverUrl, `surge_t_mig_${randomBytes(4).toString('hex')}`);
const opts = { databaseUrl, migrationsDir, schemaPath };

async function migrationFolders(): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

const selectRows = 'SELECT * FROM _prisma_migrations ORDER BY migration_name';

describe('prisma migrations (offline schema engine)', () => {
  afterAll(async () => {
    await dropDatabase(databaseUrl);
  });

  it('creates the database and applies every migration', async () => {
    const folders = await migrationFolders();
    expect(folders.length).toBeGreaterThan(0);
    expect(await applyMigrations(opts)).toEqual(folders);
  });

  it('records the rows prisma migrate deploy would, checksum = sha256(migration.sql)', async () => {
    const rows = await query<MigrationRow>(selectRows);
    expect(rows.map((r) => r.migration_name)).toEqual(await migrationFolders());
    for (const row of rows) {
      const sql = await readFile(path.join(migrationsDir, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it('leaves the database exactly as schema.prisma describes it', async () => {
    const result = await checkDrift({ databaseUrl, schemaPath });
    expect(result.script).not.toMatch(/ALTER|CREATE|DROP/);
    expect(result.drift).toBe(false);
  });

  it('is idempotent: a second run applies nothing and records nothing', async () => {
    const before = await query<MigrationRow>(selectRows);
    expect(await applyMigrations(opts)).toEqual([]);
    expect(await query<MigrationRow>(selectRows)).toEqual(before);
  });

  it('reports drift after a change made outside migrations', async () => {
    await query('ALTER TABLE orders ADD COLUMN junk int');
    const result = await checkDrift({ databaseUrl, schemaPath });
    expect(result.drift).toBe(true);
    expect(result.script).toMatch(/ALTER TABLE "orders" DROP COLUMN\s+"junk"/);
  });
});
