import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsNames } from '@surge/contracts';
import { describe, expect } from 'vitest';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { ROOT } from '../support/paths.ts';
import { eventually } from '../support/services.ts';
import { createSale } from '../support/stack.ts';

const SERVER_PASSWORD = 'server-secret-0123456789';
const WORKER_PASSWORD = 'worker-secret-0123456789';

/**
 * README.md#security / issue 10 M2: NATS with users and permissions, started from deploy/nats.conf —
 * the very file docker-compose.yml mounts. Servers publish orders, workers consume them,
 * anonymous clients and a worker's publish are refused, and the order path works end to end.
 */
const it = stackTest({
  server: false,
  private: {
    nats: {
      config: join(ROOT, 'deploy/nats.conf'),
      env: { NATS_SERVER_PASSWORD: SERVER_PASSWORD, NATS_WORKER_PASSWORD: WORKER_PASSWORD },
    },
  },
});

const withUser = (url: string, user: string, password: string) => {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString().replace(/\/$/, '');
};

describe('NATS authorization (M2)', () => {
  it('the order path works with the deploy users; anonymous and worker publishes are refused', async ({
    stack,
    nats,
  }) => {
    const server = await stack.server({ NATS_URL: withUser(nats.url, 'surge-server', SERVER_PASSWORD) });
    await stack.worker({ NATS_URL: withUser(nats.url, 'surge-worker', WORKER_PASSWORD) });
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'authz', totalStock: 10, perUserLimit: 5 });
    const u = new TestClient(server.url);
    await u.startSession();
    const placed = await u.mutate<{ orderId: string }>('order.place', {
      saleId: 'authz',
      quantity: 1,
      idempotencyKey: 'authz-order-1',
    });
    expect(placed.status).toBe(200);
    const orderId = placed.body.result?.data.orderId ?? '';
    await eventually(async () => {
      const r = await u.query<{ status: string }>('order.get', { orderId });
      return r.body.result?.data.status === 'CONFIRMED';
    });

    // No credentials: refused at connect.
    await expect(connect({ servers: nats.url, maxReconnectAttempts: 0, timeout: 2000 })).rejects.toThrow(
      /authorization/i,
    );
    // A worker's credentials cannot put an order on the stream.
    const nc = await connect({
      servers: nats.url,
      user: 'surge-worker',
      pass: WORKER_PASSWORD,
      maxReconnectAttempts: 0,
    });
    try {
      const js = jetstream(nc, { timeout: 2000 });
      await expect(
        js.publish(natsNames(stack.ns).subjectOf('authz'), JSON.stringify({ forged: true })),
      ).rejects.toThrow();
    } finally {
      await nc.close().catch(() => undefined);
    }
    expect((await u.query<unknown[]>('order.mine', { saleId: 'authz' })).body.result?.data).toHaveLength(1);
  });
});
