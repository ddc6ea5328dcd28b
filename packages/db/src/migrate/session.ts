// One engine per operation: connect (the engine connects at construction), run, then always free
// the engine, close the pg pools and drop leftover shadow databases — so a failed migration neither
// leaks a database nor keeps the process alive.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { MigrateAdapterFactory } from './adapter.ts';
import { schemaParam } from './database.ts';
import { loadSchemaEngine, type SchemaEngine, type SchemaFilter, type SchemasContainer } from './wasm.ts';

/** Nothing is managed outside Prisma here (prisma.config.ts has no `tables.external`). */
export const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

export interface EngineContext {
  engine: SchemaEngine;
  /** The Prisma schema as the engine's methods take it. */
  schema: SchemasContainer;
  /** Directory the schema is resolved against (the CLI passes the config's directory). */
  configDir: string;
}

export interface SessionOptions {
  databaseUrl: string;
  schemaPath: string;
  /** Receives the engine's JSON log lines (tracing output); dropped by default. */
  onLog?: (line: string) => void;
}

/** An engine failure, with Prisma's error code (e.g. P3006) when the engine gave one. */
export class MigrateError extends Error {
  override readonly name = 'MigrateError';
  constructor(
    message: string,
    readonly code?: string,
    readonly details?: string,
  ) {
    super(message);
  }
}

export async function withSchemaEngine<T>(
  opts: SessionOptions,
  run: (ctx: EngineContext) => Promise<T>,
): Promise<T> {
  const schemaPath = path.resolve(opts.schemaPath);
  const content = await readFile(schemaPath, 'utf8');
  const SchemaEngineClass = loadSchemaEngine();
  const factory = new MigrateAdapterFactory(opts.databaseUrl, schemaParam(opts.databaseUrl));
  const log = opts.onLog ?? (() => {});
  let engine: SchemaEngine | undefined;
  try {
    engine = await SchemaEngineClass.new(
      { datamodels: [[schemaPath, content]] },
      (line: unknown) => log(String(line)),
      bindMigrationAwareSqlAdapterFactory(factory),
    ).catch(rethrow);
    const ctx = {
      engine,
      schema: { files: [{ path: schemaPath, content }] },
      configDir: path.dirname(schemaPath),
    };
    return await run(ctx).catch(rethrow);
  } finally {
    engine?.free();
    await factory.close();
  }
}

/** The engine's errors carry a Rust backtrace after the message; keep it out of the message. */
export function toMigrateError(err: unknown): MigrateError {
  if (err instanceof MigrateError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const message = raw.split(/\n\s+0: /)[0]?.trim() || raw;
  const code =
    typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
      ? err.code
      : undefined;
  return new MigrateError(message, code, raw);
}

function rethrow(err: unknown): never {
  throw toMigrateError(err);
}
