// The database side of the WASM schema engine: @prisma/adapter-pg 7.10.1 with its two traps for
// migrations worked around.
//  1. PostgreSQL's internal `"char"` type (OID 18, in pg_catalog columns the engine introspects)
//     makes the adapter throw "Column type 'char' could not be deserialized"; pg already returns
//     its values as strings, so the results are relabelled as text before the adapter sees them.
//  2. PrismaPg.connectToShadowDb() spreads `database` into a config whose `connectionString` wins,
//     so the "shadow" is the main database and migrations would replay there. This factory creates
//     its own `<db>_shadow_<random>` database, connects to it by URL and always drops it.
import { PrismaPg } from '@prisma/adapter-pg';
import type {
  IsolationLevel,
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import pg from 'pg';
import {
  databaseName,
  dropDatabase,
  quoteIdent,
  shadowDatabaseName,
  urlForDatabase,
  withMaintenanceClient,
} from './database.ts';

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;
/** pool.end() waits for checked-out clients; never let a stuck one hang the process. */
const POOL_END_TIMEOUT_MS = 5_000;

export class MigrateAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName = '@prisma/adapter-pg';
  private readonly pools = new Set<pg.Pool>();
  private readonly shadowUrls = new Set<string>();

  constructor(
    private readonly databaseUrl: string,
    private readonly schema?: string,
  ) {}

  async connect(): Promise<SqlDriverAdapter> {
    return new PrismaPg(this.openPool(this.databaseUrl), this.adapterOptions()).connect();
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const name = shadowDatabaseName(databaseName(this.databaseUrl));
    const shadowUrl = urlForDatabase(this.databaseUrl, name);
    await withMaintenanceClient(this.databaseUrl, (client) =>
      client.query(`CREATE DATABASE ${quoteIdent(name)}`),
    );
    this.shadowUrls.add(shadowUrl);
    try {
      const pool = this.openPool(shadowUrl);
      const inner = await new PrismaPg(pool, this.adapterOptions()).connect();
      return this.disposingShadow(inner, pool, shadowUrl);
    } catch (err) {
      await this.dropShadow(shadowUrl);
      throw err;
    }
  }

  /** Closes every pool and drops any shadow database the engine did not dispose of. */
  async close(): Promise<void> {
    await Promise.all([...this.pools].map((pool) => this.endPool(pool)));
    await Promise.all([...this.shadowUrls].map((url) => this.dropShadow(url)));
  }

  private adapterOptions(): { schema?: string } {
    return this.schema === undefined ? {} : { schema: this.schema };
  }

  /** The adapter delegating to the real one, whose dispose also drops the shadow database. */
  private disposingShadow(inner: SqlDriverAdapter, pool: pg.Pool, shadowUrl: string): SqlDriverAdapter {
    return {
      provider: inner.provider,
      adapterName: inner.adapterName,
      queryRaw: (query) => inner.queryRaw(query),
      executeRaw: (query) => inner.executeRaw(query),
      executeScript: (script) => inner.executeScript(script),
      startTransaction: (isolationLevel?: IsolationLevel) => inner.startTransaction(isolationLevel),
      getConnectionInfo: inner.getConnectionInfo?.bind(inner),
      dispose: async () => {
        await inner.dispose();
        await this.endPool(pool);
        await this.dropShadow(shadowUrl);
      },
    };
  }

  private openPool(url: string): pg.Pool {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    // Errors of idle clients surface on the next query; unhandled they would crash the process.
    pool.on('error', () => {});
    pool.on('connect', relabelCharColumns);
    this.pools.add(pool);
    return pool;
  }

  private async endPool(pool: pg.Pool): Promise<void> {
    if (!this.pools.delete(pool)) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, POOL_END_TIMEOUT_MS);
      timer.unref();
    });
    await Promise.race([pool.end().catch(() => {}), timeout]);
    clearTimeout(timer);
  }

  private async dropShadow(shadowUrl: string): Promise<void> {
    if (!this.shadowUrls.has(shadowUrl)) return;
    await dropDatabase(shadowUrl);
    this.shadowUrls.delete(shadowUrl);
  }
}

/**
 * Wraps a pooled client's `query` so every result reports OID 18 columns as text. The adapter
 * queries both through the pool (which calls `client.query(config, values, callback)`) and through
 * checked-out clients for transactions (promise form); both forms are covered.
 */
function relabelCharColumns(client: pg.PoolClient): void {
  const original: (...args: unknown[]) => unknown = client.query;
  const query = (...args: unknown[]): unknown => {
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, result: unknown) =>
        Reflect.apply(last, undefined, [err, relabel(result)]);
      return Reflect.apply(original, client, args);
    }
    const out: unknown = Reflect.apply(original, client, args);
    return out instanceof Promise ? out.then(relabel) : out;
  };
  Object.defineProperty(client, 'query', { value: query, configurable: true, writable: true });
}

function relabel(result: unknown): unknown {
  // A multi-statement script yields one result per statement.
  for (const one of Array.isArray(result) ? result : [result]) {
    if (typeof one !== 'object' || one === null || !('fields' in one) || !Array.isArray(one.fields)) continue;
    for (const field of one.fields as unknown[]) {
      if (
        typeof field === 'object' &&
        field !== null &&
        'dataTypeID' in field &&
        field.dataTypeID === PG_CHAR_OID
      ) {
        field.dataTypeID = PG_TEXT_OID;
      }
    }
  }
  return result;
}
