// Offline replacement for `prisma migrate deploy|dev --create-only|diff`, run with tsx:
//   tsx packages/db/src/cli/migrate.ts deploy          apply pending migrations to DATABASE_URL
//   tsx packages/db/src/cli/migrate.ts create <name>   new migration from schema.prisma changes
//   tsx packages/db/src/cli/migrate.ts drift           exit 2 when the database differs from the schema
//   tsx packages/db/src/cli/migrate.ts status          pending / failed / edited migrations
// Paths are the repository's prisma/schema.prisma and prisma/migrations, wherever it is run from.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  applyMigrations,
  checkDrift,
  createMigration,
  MigrateError,
  migrationStatus,
  redactUrl,
} from '../migrate/index.ts';

const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/surge';
const USAGE = 'usage: migrate.ts deploy | create <name> | drift | status';

class UsageError extends Error {}

/** The nearest ancestor of this file holding prisma/schema.prisma. */
function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'prisma', 'schema.prisma'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error('cannot find the repository root (no prisma/schema.prisma above this file)');
    dir = parent;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const root = findRepoRoot();
  const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const schemaPath = path.join(root, 'prisma', 'schema.prisma');
  const migrationsDir = path.join(root, 'prisma', 'migrations');
  const where = redactUrl(databaseUrl);

  switch (command) {
    case 'deploy': {
      const applied = await applyMigrations({ databaseUrl, migrationsDir, schemaPath });
      if (applied.length === 0) {
        console.log(`No pending migrations to apply (${where}).`);
      } else {
        console.log(`Applied ${applied.length} migration(s) to ${where}:`);
        for (const name of applied) console.log(`  ${name}`);
      }
      return 0;
    }
    case 'create': {
      const name = rest.join(' ').trim();
      if (name === '') throw new UsageError('create needs a migration name');
      const folder = await createMigration({ databaseUrl, migrationsDir, schemaPath, name });
      if (folder === null) {
        console.log('No schema change: no migration created.');
      } else {
        console.log(
          `Created ${path.relative(process.cwd(), path.join(migrationsDir, folder, 'migration.sql'))}`,
        );
        console.log('Review it, then apply it with: migrate.ts deploy');
      }
      return 0;
    }
    case 'drift': {
      const { drift, script } = await checkDrift({ databaseUrl, schemaPath });
      if (!drift) {
        console.log(`No drift: ${where} matches prisma/schema.prisma.`);
        return 0;
      }
      console.log(`Drift: ${where} differs from prisma/schema.prisma. SQL that would fix the database:\n`);
      console.log(script);
      return 2;
    }
    case 'status': {
      const status = await migrationStatus({ databaseUrl, migrationsDir, schemaPath });
      console.log(`${status.migrations.length} migration(s) in prisma/migrations; database ${where}`);
      const report: [string, string[]][] = [
        ['pending', status.pending],
        ['failed', status.failed],
        ['edited after being applied', status.edited],
        ['applied but missing locally', status.missingLocally],
      ];
      for (const [label, names] of report) {
        if (names.length > 0) console.log(`${label}: ${names.join(', ')}`);
      }
      if (status.upToDate) console.log('Database schema is up to date.');
      return status.upToDate ? 0 : 1;
    }
    default:
      throw new UsageError(command === undefined ? 'missing command' : `unknown command: ${command}`);
  }
}

/** One line, whatever the error: the engine's messages span several lines. */
function oneLine(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ').trim();
  if (err instanceof MigrateError) return err.code ? `${err.code}: ${message}` : message;
  // Node's socket errors (ECONNREFUSED, ENOTFOUND…) do not say what was being reached.
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (typeof code === 'string' && code.startsWith('E')) {
    return `cannot reach PostgreSQL at ${redactUrl(process.env.DATABASE_URL || DEFAULT_DATABASE_URL)}: ${message}`;
  }
  return message;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`migrate: ${oneLine(err)}`);
    if (err instanceof UsageError) console.error(USAGE);
    process.exitCode = 1;
  },
);
