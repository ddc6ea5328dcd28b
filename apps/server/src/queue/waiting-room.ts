import { randomInt } from 'node:crypto';
import type { Ticket } from '@surge/contracts';
import type { OrderScripts, RoomReply, RoomSnapshot, SaleKeys } from '@surge/hot-state';
import { isRedisUnavailable } from '@surge/infra';
import { AppError, appError } from '../errors.ts';
import type { SharedSampler } from '../live/shared-sampler.ts';
import type { SaleCatalog } from '../sales/catalog.ts';
import type { AdmissionTokens } from './admission-tokens.ts';
import { ticketOf, unqueuedTicket } from './tickets.ts';

const RANDOM_SPAN = 2 ** 47; // randomInt takes spans below 2^48
/** Before the start places still shift as others join: a subscriber re-reads its own at most this often. */
const PRE_START_REREAD_MS = 1000;

/**
 * docs/architecture.md#the-waiting-room, the waiting room of queued sales: joining, reading a ticket, following it live, and
 * the admission check of `order.place`. The room itself lives in Redis (queue-*.lua, admit.lua);
 * this process keeps nothing but the sale catalogue.
 */
export class WaitingRoom {
  constructor(
    private readonly d: {
      scripts: OrderScripts;
      keysOf(saleId: string): SaleKeys;
      catalog: SaleCatalog;
      tokens: AdmissionTokens;
      requestRebuild(saleId: string): void;
    },
  ) {}

  /** `queue.join`: idempotent per (sale, user); an expired ticket goes to the end of the line. */
  async join(saleId: string, userId: string): Promise<Ticket> {
    await this.known(saleId);
    // A uniformly random place among the pre-start joiners (I8), made here: Redis's own
    // math.random is seeded alike in every script run.
    const random = randomInt(RANDOM_SPAN) / RANDOM_SPAN;
    const room = this.opened(
      saleId,
      await store(() => this.d.scripts.queueJoin(this.d.keysOf(saleId), userId, random)),
    );
    if (room === 'UNQUEUED') return unqueuedTicket(saleId);
    // No ticket after a join: the sale has ended.
    if (!room.ticket) return { ...unqueuedTicket(saleId), state: 'ended', etaMs: null };
    return this.ticket(saleId, userId, room, room.ticket);
  }

  /** `queue.get`: the caller's ticket, or NOT_IN_QUEUE. */
  async get(saleId: string, userId: string): Promise<Ticket> {
    await this.known(saleId);
    const room = await this.read(saleId, userId);
    if (room === 'UNQUEUED') return unqueuedTicket(saleId);
    if (!room.ticket) throw appError('NOT_IN_QUEUE');
    return this.ticket(saleId, userId, room, room.ticket);
  }

  /**
   * `live.queue`: the caller's ticket on every change. Each frame costs one shared read of the
   * room per sale per tick in this process (the sampler); a subscriber reads its own ticket
   * again only when the cursor passes its place (to learn its admission time) and, before the
   * start, at most once a second (pre-start places shift as others join).
   */
  async *watch(
    saleId: string,
    userId: string,
    sampler: SharedSampler,
    opts: { intervalMs: number; signal: AbortSignal },
  ): AsyncGenerator<{ ticket: Ticket; atMs: number }> {
    const first = await this.get(saleId, userId);
    if (first.admissionToken === null && first.state === 'admitted') {
      yield { ticket: first, atMs: Date.now() };
      return;
    }
    let own: RoomSnapshot['ticket'] = null;
    let ownReadAt = 0;
    let last = '';
    const rooms = sampler.watch(`queue:${saleId}`, () => this.read(saleId, ''), opts);
    for await (const room of rooms) {
      if (room === 'UNQUEUED') return;
      const stale =
        !own ||
        (own.admittedAtMs === null && room.cursor > own.rank) ||
        // The line is shorter than our place: Redis lost the room (the read says NOT_IN_QUEUE).
        room.lineLength <= own.rank ||
        (room.nowMs < room.startsMs && room.nowMs - ownReadAt >= PRE_START_REREAD_MS);
      if (stale) {
        const mine = await this.read(saleId, userId);
        if (mine === 'UNQUEUED') return;
        if (!mine.ticket) throw appError('NOT_IN_QUEUE');
        own = mine.ticket;
        ownReadAt = room.nowMs;
      }
      if (!own) continue;
      const ticket = this.ticket(saleId, userId, room, own);
      const fingerprint = JSON.stringify(ticket);
      if (fingerprint === last) continue;
      last = fingerprint;
      yield { ticket, atMs: room.nowMs };
    }
  }

  /** One tick of the admission clock for a sale (admit.lua). */
  admit(saleId: string): Promise<number> {
    return this.d.scripts.admit(this.d.keysOf(saleId));
  }

  /**
   * `order.place` on a queued sale (docs/architecture.md#error-reasons): the token's expiry when it is genuine and bound
   * to this sale and user; NOT_ADMITTED when it is missing, forged or foreign. No I/O.
   */
  admissionOf(saleId: string, userId: string, token: string | undefined): number {
    const expires = this.d.tokens.verify(token, saleId, userId);
    if (expires === null) throw appError('NOT_ADMITTED');
    return expires;
  }

  private ticket(
    saleId: string,
    userId: string,
    room: RoomSnapshot,
    own: NonNullable<RoomSnapshot['ticket']>,
  ) {
    return ticketOf(saleId, room, own, (expiresMs) => this.d.tokens.sign(saleId, userId, expiresMs));
  }

  private async known(saleId: string): Promise<void> {
    if (!(await this.d.catalog.exists(saleId))) throw appError('SALE_NOT_FOUND');
  }

  private async read(saleId: string, userId: string): Promise<RoomSnapshot | 'UNQUEUED'> {
    return this.opened(saleId, await store(() => this.d.scripts.queueRead(this.d.keysOf(saleId), userId)));
  }

  /** A sale without hot state answers SALE_REBUILDING (and gets its rebuild), as orders do. */
  private opened(saleId: string, reply: RoomReply): RoomSnapshot | 'UNQUEUED' {
    if (reply !== 'REBUILDING') return reply;
    this.d.requestRebuild(saleId);
    throw appError('SALE_REBUILDING', { retryAfterMs: 1000 });
  }
}

async function store<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError || !isRedisUnavailable(err)) throw err;
    throw appError('STORE_UNAVAILABLE', { retryAfterMs: 1000 }, err);
  }
}
