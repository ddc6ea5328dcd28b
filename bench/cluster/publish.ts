/**
 * The cost of one `js.publish` (the server's publish of an order, with a msgID for the
 * de-duplication window) on a private 3-node NATS cluster, to a file-stored stream of 1
 * replica (R1, the baseline) and of 3 (R3): the time of one publish awaited alone, publishes/s
 * with a window in flight, and the CPU the three nats-server processes and the client spend per
 * publish. R1 and R3 run twice, interleaved (the machine's other load varies).
 */
import { randomBytes } from 'node:crypto';
import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { privateNatsCluster } from '../../tests/support/private-servers.ts';
import { eventually } from '../../tests/support/services.ts';
import { cpuSeconds } from '../probes.ts';
import { CLUSTER_CFG, columns, fmt, ratio, windowed, withCleanup } from './common.ts';

export interface PublishFigures {
  replicas: number;
  /** One publish awaited alone, µs (mean). */
  latencyUs: number;
  /** Publishes/s with CLUSTER_CFG.window in flight. */
  perS: number;
  /** nats-server CPU (three nodes summed), the stream leader's alone, and client CPU per publish in the windowed run, µs. */
  natsUs: number;
  leaderUs: number;
  clientUs: number;
}

// About the size of an order message (docs/architecture.md#publish-and-settle): ~300 bytes of JSON.
const PAYLOAD = new TextEncoder().encode(
  JSON.stringify({
    orderId: '01JZ0000000000000000000000',
    saleId: 'bench-sale',
    userId: 'u_0123456789abcdef0123456789abcdef',
    quantity: 1,
    priceCents: 1000,
    idempotencyKey: 'bench-key-0000000000000000',
    correlationId: '0123456789abcdef0123456789abcdef',
    epoch: 1,
    acceptedAt: new Date(0).toISOString(),
  }).padEnd(300, ' '),
);

export async function measurePublish(rounds = 2): Promise<PublishFigures[]> {
  const cluster = await privateNatsCluster();
  let close = async () => undefined as unknown;
  return withCleanup(
    async () => {
      await close();
      await cluster.destroy();
    },
    async () => {
      const nc = await connect({ servers: cluster.url.split(','), timeout: 5000 });
      close = () => nc.close();
      // checkAPI off: JetStream answers only once the meta leader is elected (retried below).
      const jsm = await jetstreamManager(nc, { timeout: 5000, checkAPI: false });
      // The meta leader is elected after the nodes start: retry the declaration until then.
      for (const r of [1, 3])
        await eventually(
          () =>
            jsm.streams
              .add({
                name: `BENCH_R${r}`,
                subjects: [`bench.r${r}.>`],
                retention: RetentionPolicy.Workqueue,
                discard: DiscardPolicy.New,
                storage: StorageType.File,
                num_replicas: r,
                max_bytes: 1024 ** 3,
                duplicate_window: 2 * 60 * 1_000_000_000,
              })
              .then(() => true)
              .catch(() => null),
          60_000,
          500,
        );
      const js = jetstream(nc, { timeout: 5000 });
      const run = randomBytes(3).toString('hex');
      const pids = () => cluster.nodes.map((n) => n.pid() ?? 0);
      const natsCpu = () => pids().reduce((s, p) => s + cpuSeconds(p), 0);
      let seq = 0;
      const publish = (r: number) => js.publish(`bench.r${r}.s`, PAYLOAD, { msgID: `${run}-${seq++}` });
      // Warm-up: connections, the streams' leaders, JIT.
      for (const r of [1, 3]) for (let i = 0; i < 200; i++) await publish(r);

      // The stream's leader takes every publish first (and, at R3, replicates it to the others).
      const leaders = new Map<number, number>();
      for (const r of [1, 3]) {
        const leader = await eventually(() => cluster.leaderOf(`BENCH_R${r}`), 30_000, 250);
        leaders.set(r, leader.pid() ?? 0);
      }
      const sums = new Map<number, PublishFigures>();
      for (let round = 0; round < rounds; round++)
        for (const r of [1, 3]) {
          const latencyMs = await windowed(CLUSTER_CFG.sequential, 1, () => publish(r));
          const cpu0 = natsCpu();
          const leader0 = cpuSeconds(leaders.get(r) ?? 0);
          const client0 = process.cpuUsage();
          const wallMs = await windowed(CLUSTER_CFG.concurrent, CLUSTER_CFG.window, () => publish(r));
          const client = process.cpuUsage(client0);
          const nats = natsCpu() - cpu0;
          const leader = cpuSeconds(leaders.get(r) ?? 0) - leader0;
          const f: PublishFigures = {
            replicas: r,
            latencyUs: (latencyMs * 1000) / CLUSTER_CFG.sequential,
            perS: CLUSTER_CFG.concurrent / (wallMs / 1000),
            natsUs: (nats * 1e6) / CLUSTER_CFG.concurrent,
            leaderUs: (leader * 1e6) / CLUSTER_CFG.concurrent,
            clientUs: (client.user + client.system) / CLUSTER_CFG.concurrent,
          };
          const s = sums.get(r);
          sums.set(
            r,
            s
              ? {
                  replicas: r,
                  latencyUs: s.latencyUs + f.latencyUs,
                  perS: s.perS + f.perS,
                  natsUs: s.natsUs + f.natsUs,
                  leaderUs: s.leaderUs + f.leaderUs,
                  clientUs: s.clientUs + f.clientUs,
                }
              : f,
          );
        }
      return [1, 3].map((r) => {
        const s = sums.get(r) as PublishFigures;
        return {
          replicas: r,
          latencyUs: s.latencyUs / rounds,
          perS: s.perS / rounds,
          natsUs: s.natsUs / rounds,
          leaderUs: s.leaderUs / rounds,
          clientUs: s.clientUs / rounds,
        };
      });
    },
  );
}

export function publishTable(rows: PublishFigures[]): string {
  const base = rows[0];
  return columns([
    [
      '',
      'µs/publish alone',
      'publishes/s',
      '× R1',
      'nats-server CPU µs',
      '× R1',
      'leader CPU µs',
      'client CPU µs',
    ],
    ...rows.map((r) => [
      `R${r.replicas}${r.replicas === 1 ? ' (baseline)' : ''}`,
      fmt(r.latencyUs),
      fmt(r.perS),
      ratio(r.perS, base?.perS ?? Number.NaN),
      fmt(r.natsUs),
      ratio(r.natsUs, base?.natsUs ?? Number.NaN),
      fmt(r.leaderUs),
      fmt(r.clientUs),
    ]),
  ]);
}
