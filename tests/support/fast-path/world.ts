import { TestClient } from '../client.ts';
import { PRODUCTION_SECRETS } from '../env.ts';
import { createSale, type Stack } from '../stack.ts';

/**
 * The two servers of tests/integration/fast-path.test.ts, one per TRPC_FAST_PATH setting, each
 * with its world: sales under its own prefix (the two share one database and Redis namespace),
 * a shopper, an admin, and a second admin the cases log in and out.
 */

export interface World {
  url: string;
  /** Prefix of this server's sale ids and idempotency keys. */
  p: string;
  adminPassword: string;
  /** A shopper whose session the first cases start. */
  shopper: TestClient;
  /** The shopper who bought `<p>one`'s only unit (key `<p>sell-out-1`). */
  buyer: TestClient;
  /** A logged-in admin. */
  admin: TestClient;
  /** An admin logged in by a case, logged out by a later one. */
  second: TestClient;
}

export async function fastCount(url: string): Promise<number | null> {
  // A production server asks for its bearer token; one without a token ignores the header.
  const headers = { authorization: `Bearer ${PRODUCTION_SECRETS.METRICS_TOKEN}` };
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  const m = /^surge_trpc_fast_path_total (\d+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** One server of a mode, TRPC_FAST_PATH as `flag`, and its world: sales, clients. */
export async function startWorld(stack: Stack, production: boolean, flag: string, p: string): Promise<World> {
  const adminPassword = production ? PRODUCTION_SECRETS.ADMIN_PASSWORD : 'test-admin-password';
  const env = {
    ADMIN_LOGIN_LIMIT: '1000', // both servers log in from 127.0.0.1 into one namespace
    ...(production
      ? {
          NODE_ENV: 'production',
          ADMIN_PASSWORD: adminPassword,
          SESSION_SECRET: PRODUCTION_SECRETS.SESSION_SECRET,
          METRICS_TOKEN: PRODUCTION_SECRETS.METRICS_TOKEN,
        }
      : {}),
  };
  const url = production
    ? (await stack.spawnServer({ ...env, TRPC_FAST_PATH: flag })).url
    : (await stack.server({ ...env, TRPC_FAST_PATH: flag })).url;
  const admin = new TestClient(url);
  await admin.loginAdmin(adminPassword);
  await createSale(admin, { id: `${p}open`, totalStock: 100, perUserLimit: 10 });
  await createSale(admin, { id: `${p}one`, totalStock: 1, perUserLimit: 1 });
  // Starting in an hour: nobody is admitted while the cases run (their tickets stay the same).
  await createSale(admin, {
    id: `${p}queued`,
    totalStock: 100,
    perUserLimit: 1,
    startsAt: new Date(Date.now() + 3_600_000).toISOString(),
    queue: { admitPerSecond: 1 },
  });
  await createSale(admin, { id: `${p}paused`, totalStock: 100, perUserLimit: 1 });
  const paused = await admin.mutate('admin.pauseSale', { saleId: `${p}paused` });
  if (paused.status !== 200) throw new Error(`pausing ${p}paused: ${JSON.stringify(paused.body)}`);
  const buyer = new TestClient(url);
  await buyer.startSession();
  const sold = await buyer.mutate('order.place', {
    saleId: `${p}one`,
    quantity: 1,
    idempotencyKey: `${p}sell-out-1`,
  });
  if (sold.status !== 200) throw new Error(`selling out ${p}one: ${JSON.stringify(sold.body)}`);
  return {
    url,
    p,
    adminPassword,
    shopper: new TestClient(url),
    buyer,
    admin,
    second: new TestClient(url),
  };
}
