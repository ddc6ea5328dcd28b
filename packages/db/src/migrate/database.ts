// Server-level chores the schema engine leaves to its caller here: creating the target database
// (`migrate deploy` does it natively; the WASM engine has no createDatabase) and the temporary
// shadow databases. Both go through the `postgres` maintenance database on the same server.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** PostgreSQL truncates identifiers to 63 bytes; longer generated names would collide. */
const MAX_IDENTIFIER_BYTES = 63;

/** The database name a URL points at (`/surge` → `surge`). */
export function databaseName(databaseUrl: string): string {
  const url = parseUrl(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (name === '') throw new Error('the database URL names no database (expected postgresql://host/<db>)');
  return name;
}

/** The `?schema=` of a Prisma-style URL, which the pg adapter takes as an option. */
export function schemaParam(databaseUrl: string): string | undefined {
  return parseUrl(databaseUrl).searchParams.get('schema') ?? undefined;
}

/** The same server and credentials, another database. */
export function urlForDatabase(databaseUrl: string, database: string): string {
  const url = parseUrl(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** The URL with its password masked, for printing. */
export function redactUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return '<unparseable database URL>';
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `<db>_shadow_<random>`, shortened so the random suffix survives PostgreSQL's 63-byte limit. */
export function shadowDatabaseName(database: string): string {
  const suffix = `_shadow_${randomBytes(4).toString('hex')}`;
  let base = database;
  while (Buffer.byteLength(base + suffix) > MAX_IDENTIFIER_BYTES) base = base.slice(0, -1);
  return base + suffix;
}

/** Runs `fn` with a client on the server's `postgres` database, always closing it. */
export async function withMaintenanceClient<T>(
  databaseUrl: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: urlForDatabase(databaseUrl, 'postgres') });
  // An idle client's error (server restart) must not crash the process; the next query reports it.
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates the URL's database unless it exists; true when it was created. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl);
  return withMaintenanceClient(databaseUrl, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount !== null && found.rowCount > 0) return false;
    try {
      await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
      return true;
    } catch (err) {
      // Another process created it between the check and here: fine.
      if (pgErrorCode(err) === '42P04') return false;
      throw err;
    }
  });
}

/**
 * Drops the URL's database if it exists. WITH (FORCE) (PostgreSQL 13+) ends leftover sessions, so
 * a pool that failed to close cannot keep a temporary database alive.
 */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl);
  await withMaintenanceClient(databaseUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  });
}

function parseUrl(databaseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new Error('the database URL is not a valid URL');
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new Error(`the database URL must start with postgresql:// (got ${url.protocol}//)`);
  }
  return url;
}

function pgErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}
