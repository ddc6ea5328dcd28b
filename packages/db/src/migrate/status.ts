// `prisma migrate status`: compares the migrations folder with `_prisma_migrations` (no shadow db).
import { readMigrationsList } from './files.ts';
import { NO_FILTER, type SessionOptions, withSchemaEngine } from './session.ts';

export interface StatusOptions extends SessionOptions {
  migrationsDir: string;
}

export interface MigrationStatus {
  /** Migration folders on disk, oldest first. */
  migrations: string[];
  hasMigrationsTable: boolean;
  /** On disk, not applied. */
  pending: string[];
  /** Applied, but no longer on disk. */
  missingLocally: string[];
  /** Started but neither finished nor rolled back: they block deploy. */
  failed: string[];
  /** Applied with a checksum that no longer matches migration.sql. */
  edited: string[];
  upToDate: boolean;
}

export async function migrationStatus(opts: StatusOptions): Promise<MigrationStatus> {
  const migrationsList = await readMigrationsList(opts.migrationsDir);
  return withSchemaEngine(opts, async ({ engine }) => {
    const out = await engine.diagnoseMigrationHistory({
      migrationsList,
      optInToShadowDatabase: false,
      filters: NO_FILTER,
    });
    const history = out.history;
    const pending =
      history?.diagnostic === 'databaseIsBehind' || history?.diagnostic === 'historiesDiverge'
        ? history.unappliedMigrationNames
        : [];
    const missingLocally =
      history?.diagnostic === 'migrationsDirectoryIsBehind' || history?.diagnostic === 'historiesDiverge'
        ? history.unpersistedMigrationNames
        : [];
    const failed = out.failedMigrationNames;
    const edited = out.editedMigrationNames;
    return {
      migrations: migrationsList.migrationDirectories.map((dir) => dir.path),
      hasMigrationsTable: out.hasMigrationsTable,
      pending,
      missingLocally,
      failed,
      edited,
      upToDate: history === null && failed.length === 0 && edited.length === 0,
    };
  });
}
