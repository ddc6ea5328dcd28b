import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsNames, type OrderMessage } from '@surge/contracts';
import { saleKeys } from '@surge/hot-state';
import type { Redis } from 'ioredis';
import { testRedis } from './redis-client.ts';
import { SHARED } from './services.ts';

/** Reads what the order path left behind: the stream's messages and the sale's hot state. */
export async function streamMessages(
  ns: string,
  natsUrl = SHARED.nats,
): Promise<{ msg: OrderMessage; subject: string }[]> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const stream = natsNames(ns).stream;
    const info = await jsm.streams.info(stream);
    const out: { msg: OrderMessage; subject: string }[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (m) out.push({ msg: m.json<OrderMessage>(), subject: m.subject });
    }
    return out;
  } finally {
    await nc.close();
  }
}

export async function hotState(ns: string, saleId: string, redisUrl = SHARED.redis) {
  const redis = testRedis(redisUrl);
  try {
    const k = saleKeys(ns, saleId);
    const [hot, users, idem, open, outbox] = await Promise.all([
      redis.hgetall(k.hot),
      redis.hgetall(k.users),
      redis.hgetall(k.idem),
      redis.scard(k.open),
      redis.zcard(k.outbox),
    ]);
    // The users hash also holds "ip:<group>" counters and "open:<userId>" indexes (README.md#security):
    // `users` is the users' units only, `extra` the rest.
    const only = (keep: (f: string) => boolean) =>
      Object.fromEntries(Object.entries(users).filter(([f]) => keep(f)));
    return {
      hot,
      users: only((f) => !f.includes(':')),
      extra: only((f) => f.includes(':')),
      idem,
      open,
      outbox,
      keys: k,
    };
  } finally {
    redis.disconnect();
  }
}

export async function withRedis<T>(fn: (r: Redis) => Promise<T>, redisUrl = SHARED.redis): Promise<T> {
  const redis = testRedis(redisUrl);
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}
