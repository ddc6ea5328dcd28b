// Offline `prisma migrate` for Surge: Prisma's own schema engine (WASM) driven through the pg
// adapter. See README.md#migrations.
export { type ApplyOptions, applyMigrations } from './apply.ts';
export { type CreateOptions, createMigration } from './create.ts';
export { databaseName, dropDatabase, ensureDatabase, redactUrl, urlForDatabase } from './database.ts';
export { checkDrift, type DriftResult } from './drift.ts';
export { LOCKFILE_NAME, readMigrationsList, slugifyMigrationName } from './files.ts';
export { MigrateError, type SessionOptions } from './session.ts';
export { type MigrationStatus, migrationStatus, type StatusOptions } from './status.ts';
export { schemaEngineVersion, schemaEngineWasmPath } from './wasm.ts';
