// `prisma migrate deploy`, offline: the engine applies every pending migration and writes the
// `_prisma_migrations` rows itself, so the history matches what the Prisma CLI would have recorded.
import { ensureDatabase } from './database.ts';
import { readMigrationsList } from './files.ts';
import { MigrateError, NO_FILTER, type SessionOptions, toMigrateError, withSchemaEngine } from './session.ts';

export interface ApplyOptions extends SessionOptions {
  migrationsDir: string;
}

/** Applies pending migrations (creating the database first if needed); returns their names. */
export async function applyMigrations(opts: ApplyOptions): Promise<string[]> {
  await ensureDatabase(opts.databaseUrl);
  const migrationsList = await readMigrationsList(opts.migrationsDir);
  return withSchemaEngine(opts, async ({ engine }) => {
    try {
      const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: NO_FILTER });
      return appliedMigrationNames;
    } catch (err) {
      // The WASM engine reports only the SQL error; name the migration it left failed, as the
      // native engine's P3018 does.
      const error = toMigrateError(err);
      const history = await engine
        .diagnoseMigrationHistory({ migrationsList, optInToShadowDatabase: false, filters: NO_FILTER })
        .catch(() => null);
      const failed = history?.failedMigrationNames ?? [];
      if (error.code !== undefined || failed.length === 0) throw error;
      throw new MigrateError(
        `migration ${failed.join(', ')} failed to apply: ${error.message}`,
        'P3018',
        error.details,
      );
    }
  });
}
