import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RoomSnapshot } from '@surge/hot-state';
import { createLogger } from '@surge/infra';
import { describe, expect, it } from 'vitest';
import type { WaitingRoom } from '../queue/waiting-room.ts';
import { QueueFanout } from './queue-fanout.ts';
import { SharedSampler } from './shared-sampler.ts';

/** A response that keeps what is written to it. */
class FakeResponse extends EventEmitter {
  writes: string[] = [];
  destroyed = false;
  writableEnded = false;
  setHeader() {
    return this;
  }
  writeHead() {
    return this;
  }
  write(chunk: string | Buffer) {
    this.writes.push(String(chunk));
    return true;
  }
  end(chunk?: string | Buffer) {
    if (chunk) this.writes.push(String(chunk));
    this.writableEnded = true;
    this.emit('close');
    return this;
  }
}

const req = (user: string) => ({ resume: () => undefined, headers: {}, user }) as unknown as IncomingMessage;

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

const T0 = 1_800_000_000_000;

describe('QueueFanout', () => {
  it('reads the room once per tick for every follower and sends each its own ticket when it changed', async () => {
    let cursor = 0;
    let now = T0 + 1000;
    const reads = { room: 0, places: [] as string[][] };
    const snapshot = (): RoomSnapshot => ({
      nowMs: now,
      cursor,
      lineLength: 50,
      remaining: 10,
      startsMs: T0,
      endsMs: T0 + 3_600_000,
      paused: false,
      admitPerSecond: 10,
      tokenTtlMs: 300_000,
      admittedLastSecond: 0,
      outstanding: 0,
      ticket: null,
    });
    const rankOf = (user: string) => Number(user.slice(1));
    const room = {
      knows: () => true,
      room: async () => {
        reads.room++;
        return snapshot();
      },
      places: async (_: string, users: string[]) => {
        reads.places.push(users);
        const read = snapshot();
        return users.map((user) => {
          const rank = rankOf(user);
          return { room: read, own: { rank, admittedAtMs: rank < cursor ? T0 + 2000 : null } };
        });
      },
      sign: (_: string, user: string, expiresMs: number) => `token-${user}-${expiresMs}`,
    } as unknown as WaitingRoom;
    const closing = new AbortController();
    const fanout = new QueueFanout({
      sampler: new SharedSampler(),
      room,
      userOf: (r) => (r as unknown as { user: string }).user,
      chargeRead: async () => undefined,
      errorData: () => '{}',
      tickMs: 5,
      pingMs: 60_000,
      clientOptions: {},
      closing: closing.signal,
      log: createLogger('silent', 'test'),
    });
    const followers = Array.from({ length: 40 }, (_, i) => ({ user: `u${i + 10}`, res: new FakeResponse() }));
    await Promise.all(
      followers.map((f) =>
        fanout.serve('s', req(f.user), f.res as unknown as ServerResponse, () => {
          throw new Error('fell back');
        }),
      ),
    );
    expect(fanout.size()).toBe(40);
    // Streams opening in the same turn read their places together.
    expect(reads.places.length).toBeLessThan(40);
    expect(reads.places.flat().sort()).toEqual(followers.map((f) => f.user).sort());
    reads.places = [];
    const frames = (f: { res: FakeResponse }) => f.res.writes.filter((w) => w.startsWith('data: '));
    expect(followers.every((f) => frames(f).length === 1)).toBe(true);
    const first = JSON.parse(
      frames(followers[0] as { res: FakeResponse })[0]
        ?.slice(6)
        .split('\n')[0] ?? '',
    );
    expect(first).toMatchObject({ state: 'waiting', position: 11, ahead: 10 });

    // The cursor passes the first follower: every one gets a new place from one read per tick,
    // only the one passed reads its own place again (its admission time).
    cursor = 11;
    now += 100;
    await until(() => followers.every((f) => frames(f).length >= 2));
    expect(reads.places).toEqual([['u10']]);
    const [admitted, next] = followers.map((f) => JSON.parse(frames(f)[1]?.slice(6).split('\n')[0] ?? ''));
    expect(admitted).toMatchObject({ state: 'admitted', admissionToken: `token-u10-${T0 + 302_000}` });
    expect(next).toMatchObject({ state: 'waiting', position: 1, ahead: 0 });
    expect(frames(followers[1] as { res: FakeResponse })[1]).toMatch(new RegExp(`\\nid: ${now}\\n\\n\\n$`));

    // Nothing changes: no frame. Shutdown: `return` to all.
    const sent = followers.map((f) => frames(f).length);
    const before = reads.room;
    await until(() => reads.room >= before + 3);
    expect(followers.map((f) => frames(f).length)).toEqual(sent);
    closing.abort();
    for (const f of followers) expect(f.res.writes.at(-1)).toBe('event: return\ndata: \n\n\n');
    expect(fanout.size()).toBe(0);
  });
});
