// `prisma migrate dev --create-only` without prompts: the engine replays the existing migrations on a
// temporary shadow database and writes the SQL that takes that state to the schema.
import { ensureDatabase } from './database.ts';
import { readMigrationsList, slugifyMigrationName, writeMigration } from './files.ts';
import { MigrateError, NO_FILTER, type SessionOptions, withSchemaEngine } from './session.ts';

export interface CreateOptions extends SessionOptions {
  migrationsDir: string;
  /** Free text; slugified like the CLI does (`add user email` → `add_user_email`). */
  name: string;
}

/**
 * Writes `<migrationsDir>/<timestamp>_<name>/migration.sql` (and migration_lock.toml) and returns the
 * folder name, or null when the schema has no change. Applies nothing: run applyMigrations after.
 */
export async function createMigration(opts: CreateOptions): Promise<string | null> {
  const migrationName = slugifyMigrationName(opts.name);
  if (migrationName === '') throw new MigrateError(`invalid migration name: ${JSON.stringify(opts.name)}`);
  await ensureDatabase(opts.databaseUrl);
  const migrationsList = await readMigrationsList(opts.migrationsDir);
  return withSchemaEngine(opts, async ({ engine, schema }) => {
    // As `migrate dev` does, before anything else: it checks the history replays cleanly on a
    // shadow database and that the development database has not drifted from it.
    const diagnostic = await engine.devDiagnostic({ migrationsList, filters: NO_FILTER });
    if (diagnostic.action.tag === 'reset') {
      throw new MigrateError(
        `the database needs a reset before a migration can be created: ${diagnostic.action.reason}`,
      );
    }
    const created = await engine.createMigration({
      draft: false,
      migrationName,
      migrationsList,
      schema,
      filters: NO_FILTER,
    });
    if (created.migrationScript === null) return null;
    await writeMigration({
      migrationsDir: opts.migrationsDir,
      folderName: created.generatedMigrationName,
      extension: created.extension,
      script: created.migrationScript,
      connectorType: created.connectorType,
    });
    return created.generatedMigrationName;
  });
}
