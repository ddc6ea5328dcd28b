import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { eventually } from './services.ts';

/**
 * Proves a freshly started NATS cluster runs JetStream clustered: makes an R3 stream `name` on
 * `<name>.orders.>` through `servers` (as `auth`'s user when given). JetStream elects its meta
 * leader once the routes are up, so the stream is retried for up to 30 s.
 */
export async function makeR3Stream(
  servers: string[],
  name: string,
  auth: { user: string; pass: string } | Record<string, never> = {},
): Promise<void> {
  const nc = await connect({ servers, ...auth, timeout: 3000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5000, checkAPI: false });
    await eventually(
      async () =>
        jsm.streams
          .add({ name: `${name}_orders`, subjects: [`${name}.orders.>`], num_replicas: 3 })
          .then((s) => s.config.num_replicas === 3)
          .catch(() => false),
      30_000,
    );
  } finally {
    await nc.close();
  }
}
