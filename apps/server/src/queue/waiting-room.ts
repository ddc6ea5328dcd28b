import { randomInt } from 'node:crypto';
import type { Ticket } from '@surge/contracts';
import type { OrderScripts, RoomPlaces, RoomReply, RoomSnapshot, SaleKeys } from '@surge/hot-state';
import { isRedisUnavailable } from '@surge/infra';
import { AppError, appError } from '../errors.ts';
import type { SharedSampler } from '../live/shared-sampler.ts';
import type { SaleCatalog } from '../sales/catalog.ts';
import type { AdmissionTokens } from './admission-tokens.ts';
import { ownReadDue, ticketOf, unqueuedTicket } from './tickets.ts';

const RANDOM_SPAN = 2 ** 47; // randomInt takes spans below 2^48
/** At most this many users' places in one queue-read-many.lua step. */
export const PLACES_PER_STEP = 1000;

/** A shopper's place in the room as Redis keeps it. */
export type Own = NonNullable<RoomSnapshot['ticket']>;
export interface Opened {
  room: RoomSnapshot;
  own: Own;
}

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
    const opened = await this.open(saleId, userId);
    if (opened === 'UNQUEUED') return unqueuedTicket(saleId);
    return this.ticket(saleId, userId, opened.room, opened.own);
  }

  /**
   * The caller's place, read once (SALE_NOT_FOUND, NOT_IN_QUEUE, … thrown): where `queue.get`
   * and a `live.queue` stream begin.
   */
  async open(saleId: string, userId: string): Promise<Opened | 'UNQUEUED'> {
    await this.known(saleId);
    const room = await this.read(saleId, userId);
    if (room === 'UNQUEUED') return room;
    if (!room.ticket) throw appError('NOT_IN_QUEUE');
    return { room, own: room.ticket };
  }

  /** The caller's place again, without the sale check (NOT_IN_QUEUE once Redis lost the room). */
  async own(saleId: string, userId: string): Promise<Own | 'UNQUEUED'> {
    const mine = await this.read(saleId, userId);
    if (mine === 'UNQUEUED') return mine;
    if (!mine.ticket) throw appError('NOT_IN_QUEUE');
    return mine.ticket;
  }

  /**
   * The places of many users of one sale with the room (queue-read-many.lua): what this
   * process's `live.queue` followers whose own place is due read per sale per tick, instead of
   * one `own` each. A place is null when Redis holds no ticket for that user (NOT_IN_QUEUE).
   * At most PLACES_PER_STEP users go in one Redis step (a long script blocks Redis); more are
   * read in several steps sent together, and each entry carries the room read in the same step
   * as its place, so the two always agree. Fails as a whole if any step fails.
   */
  async places(
    saleId: string,
    userIds: readonly string[],
  ): Promise<{ room: RoomSnapshot; own: Own | null }[]> {
    const keys = this.d.keysOf(saleId);
    const steps: Promise<RoomPlaces>[] = [];
    for (let i = 0; i < userIds.length; i += PLACES_PER_STEP) {
      const part = userIds.slice(i, i + PLACES_PER_STEP);
      steps.push(store(() => this.d.scripts.queueReadMany(keys, part)));
    }
    const out: { room: RoomSnapshot; own: Own | null }[] = [];
    for (const { room, places } of await Promise.all(steps))
      for (const own of places) out.push({ room, own });
    // asRoomPlaces checks each step's count; the whole must line up with the users asked.
    if (out.length !== userIds.length) throw new Error(`places: ${out.length} for ${userIds.length} users`);
    return out;
  }

  /** The room without anyone's place: what every `live.queue` stream of a sale shares per tick. */
  room(saleId: string): Promise<RoomSnapshot | 'UNQUEUED'> {
    return this.read(saleId, '');
  }

  /**
   * `live.queue`: the caller's ticket on every change. Each frame costs one shared read of the
   * room per sale per tick in this process (the sampler); a subscriber reads its own ticket
   * again only when ownReadDue says so. live/queue-fanout.ts serves the plain case the same way
   * without a generator per stream.
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
    let own: Own | null = null;
    let ownReadAt = 0;
    let last = '';
    const rooms = sampler.watch(`queue:${saleId}`, () => this.room(saleId), opts);
    for await (const room of rooms) {
      if (room === 'UNQUEUED') return;
      if (ownReadDue(room, own, ownReadAt)) {
        const mine = await this.own(saleId, userId);
        if (mine === 'UNQUEUED') return;
        own = mine;
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

  /** The admission token of (sale, user) valid until `expiresMs` (deterministic). */
  sign(saleId: string, userId: string, expiresMs: number): string {
    return this.d.tokens.sign(saleId, userId, expiresMs);
  }

  private ticket(saleId: string, userId: string, room: RoomSnapshot, own: Own) {
    return ticketOf(saleId, room, own, (expiresMs) => this.sign(saleId, userId, expiresMs));
  }

  private async known(saleId: string): Promise<void> {
    if (!(await this.knows(saleId))) throw appError('SALE_NOT_FOUND');
  }

  /** Whether the sale exists (the catalogue: no I/O for a sale seen before). */
  knows(saleId: string): boolean | Promise<boolean> {
    return this.d.catalog.exists(saleId);
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
