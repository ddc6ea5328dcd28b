import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/paths.ts';
import { bin, type PrivateServer, privateServer } from '../support/private-servers.ts';
import { makeR3Stream } from '../support/r3-stream.ts';
import { eventually, freePort, sleep } from '../support/services.ts';

const SERVER_PASSWORD = 'server-secret-0123456789';
const WORKER_PASSWORD = 'worker-secret-0123456789';
const ROUTE_PASSWORD = 'route-secret-0123456789';

/**
 * README.md#security: the NATS cluster of docker-compose.yml's `cluster` profile, started from
 * deploy/nats-cluster.conf — the very file compose mounts — on three private nats-servers.
 * They form a cluster over authenticated routes (an R3 stream can be made through the deploy
 * user), and a node without the route password, or with a wrong one, is never let in.
 */
describe('NATS routes need the route password', () => {
  const started: PrivateServer[] = [];
  afterAll(async () => {
    for (const s of started) await s.destroy();
  });

  const monitorOf = new Map<PrivateServer, number>();
  const routesOf = async (s: PrivateServer): Promise<number> => {
    const r = await fetch(`http://127.0.0.1:${monitorOf.get(s)}/routez`);
    return ((await r.json()) as { num_routes: number }).num_routes;
  };

  it('three nodes cluster over authenticated routes; nodes without the password stay out', async () => {
    const routePorts = await Promise.all([freePort(), freePort(), freePort()]);
    const seeds = routePorts.map((p) => `nats-route://surge-route:${ROUTE_PASSWORD}@127.0.0.1:${p}`);
    const nodes: PrivateServer[] = [];
    for (const [i, routePort] of routePorts.entries()) {
      const monitor = await freePort();
      const node = await privateServer(
        `nats-route-${i + 1}`,
        (port, dir) => [
          bin('nats-server'),
          [
            '-c',
            join(ROOT, 'deploy/nats-cluster.conf'),
            '-a',
            '127.0.0.1',
            '-p',
            String(port),
            '-m',
            String(monitor),
          ].concat(['-js', '-sd', dir, '-n', `route-n${i + 1}`]),
        ],
        (port) => `nats://127.0.0.1:${port}`,
        {
          env: {
            NATS_SERVER_PASSWORD: SERVER_PASSWORD,
            NATS_WORKER_PASSWORD: WORKER_PASSWORD,
            NATS_ROUTE_PASSWORD: ROUTE_PASSWORD,
            NATS_ROUTE_HOST: '127.0.0.1',
            NATS_ROUTE_PORT: String(routePort),
            NATS_ROUTE_1: seeds[0] as string,
            NATS_ROUTE_2: seeds[1] as string,
            NATS_ROUTE_3: seeds[2] as string,
          },
        },
      );
      started.push(node);
      nodes.push(node);
      monitorOf.set(node, monitor);
    }
    await eventually(async () => (await Promise.all(nodes.map(routesOf))).every((n) => n === 2), 20_000);

    // JetStream runs clustered: an R3 stream, made through the deploy's server user.
    await makeR3Stream(
      nodes.map((n) => n.url),
      'routeauth',
      { user: 'surge-server', pass: SERVER_PASSWORD },
    );

    // Two intruders dial the first node's route port: one without credentials, one with a
    // wrong password. Neither gets a route; the cluster keeps its own two per node.
    const target = `127.0.0.1:${routePorts[0]}`;
    for (const [name, route] of [
      ['no-password', `nats-route://${target}`],
      ['wrong-password', `nats-route://surge-route:not-the-password@${target}`],
    ] as const) {
      const monitor = await freePort();
      const ownRoute = await freePort();
      const rogue = await privateServer(
        `nats-rogue-${name}`,
        (port) => [
          bin('nats-server'),
          ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-n', `rogue-${name}`].concat([
            '--cluster_name',
            'surge',
            '--cluster',
            `nats://127.0.0.1:${ownRoute}`,
            '--routes',
            route,
          ]),
        ],
        (port) => `nats://127.0.0.1:${port}`,
      );
      started.push(rogue);
      monitorOf.set(rogue, monitor);
    }
    // nats-server retries a failed route every second: a few tries, none let in.
    await sleep(3000);
    const intruders = started.slice(3);
    expect(await Promise.all(intruders.map(routesOf))).toEqual([0, 0]);
    expect(await Promise.all(nodes.map(routesOf))).toEqual([2, 2, 2]);
  });
});
