import type { IncomingMessage, ServerResponse } from 'node:http';
import { liveQueueInput } from '@surge/contracts';
import type { RoomSnapshot } from '@surge/hot-state';
import type { Logger } from '@surge/infra';
import { appError } from '../errors.ts';
import { ownReadDue, ticketOf } from '../queue/tickets.ts';
import type { Own, WaitingRoom } from '../queue/waiting-room.ts';
import type { SharedSampler } from './shared-sampler.ts';
import {
  type Channel,
  plainSubscriptionInput,
  RETURN,
  SseChannels,
  sseEvent,
  trackedFrame,
} from './sse-channels.ts';

interface Opening {
  userId: string;
  resolve(v: { room: RoomSnapshot; own: Own | null }): void;
  reject(err: unknown): void;
}

interface Follower {
  res: ServerResponse;
  userId: string;
  own: Own;
  ownReadAtMs: number;
  /** The own place is being read again: the next frame waits for it. */
  reading: boolean;
  /** The room's time of the last frame sent: an older shared read is not sent after a newer. */
  atMs: number;
  /** The last ticket sent, serialised: a frame goes out only when it differs. */
  last: string;
  /** The token of the admitted ticket, signed once (the same on every read). */
  token: { expiresMs: number; value: string } | null;
}

/**
 * `live.queue` for many followers (docs/architecture.md#the-waiting-room): the stream the tRPC
 * subscription sends — headers, `connected`, tracked frames (`data` then `id`: the ticket and the
 * room's time), pings, `return` at shutdown (live/sse-channels.ts) — without a generator, a ping
 * race and a chain of web streams per stream. The room of a sale is read once per tick for all
 * its followers through the same SharedSampler hub the procedure uses (`queue:<saleId>`); a
 * follower's ticket is derived from that read and its own place (read again only when
 * `ownReadDue`, as the procedure does — the places due in a tick read together in one Redis
 * step, queue-read-many.lua, not one read per follower) and serialised only for its own
 * stream, sent when it changed. It takes the plain case — a valid input with no `lastEventId`, a guest session, a
 * ticket in a queued sale — and gives the rest (a bad input, NO_SESSION, RATE_LIMITED,
 * SALE_NOT_FOUND, NOT_IN_QUEUE, an unqueued sale, Redis down when the stream opens) to tRPC.
 * An error after the stream opened (the room lost, Redis down on an own read) ends it with the
 * `serialized-error` event tRPC would send.
 */
export class QueueFanout {
  private readonly streams: SseChannels<Follower>;
  /** Streams of a sale waiting for their first read of the room (see `openPlace`). */
  private readonly opening = new Map<string, Opening[]>();

  constructor(
    private readonly d: {
      sampler: SharedSampler;
      room: WaitingRoom;
      /** The guest session's user, as `requireSession` reads it; null: none. */
      userOf(req: IncomingMessage): string | null;
      /** The read limit every query and subscription pays (`limitReads`); throws when refused. */
      chargeRead(req: IncomingMessage): Promise<void>;
      /** The error's SSE `serialized-error` data, as tRPC formats it for live.queue. */
      errorData(err: unknown, input: { saleId: string }): string;
      tickMs: number;
      pingMs: number;
      clientOptions: object;
      closing: AbortSignal;
      log: Logger;
    },
  ) {
    this.streams = new SseChannels<Follower>({
      pingMs: d.pingMs,
      clientOptions: d.clientOptions,
      closing: d.closing,
      start: (saleId, ch, signal) => this.feed(saleId, ch, signal),
    });
  }

  /** `GET /trpc/live.queue?input=…` with nothing else that tRPC would read differently. */
  static wants(url: URL, req: IncomingMessage): string | null {
    return plainSubscriptionInput(url, req, '/trpc/live.queue', liveQueueInput)?.saleId ?? null;
  }

  /** Serves the stream, or calls `fallback` (tRPC); the caller has admitted it (StreamCaps). */
  async serve(
    saleId: string,
    req: IncomingMessage,
    res: ServerResponse,
    fallback: () => void,
  ): Promise<void> {
    const userId = this.d.userOf(req);
    if (!userId || this.streams.closing) return fallback();
    let opened: { room: RoomSnapshot; own: Own | null };
    try {
      const known = this.d.room.knows(saleId);
      if (!(known === true || (await known))) return fallback(); // tRPC answers SALE_NOT_FOUND
      opened = await this.openPlace(saleId, userId);
      if (!opened.own) return fallback(); // NOT_IN_QUEUE
      await this.d.chargeRead(req);
    } catch {
      return fallback(); // tRPC answers RATE_LIMITED, outages
    }
    if (res.destroyed) return;
    this.streams.open(req, res);
    const { room, own } = opened;
    const f: Follower = {
      res,
      userId,
      own,
      ownReadAtMs: room.nowMs,
      reading: false,
      atMs: 0,
      last: '',
      token: null,
    };
    this.send(saleId, f, room);
    this.streams.add(saleId, f);
  }

  /**
   * A new follower's place: the streams of a sale opening in the same turn of the event loop
   * read theirs together, in one Redis step (queue-read-many.lua), as the ticks do.
   */
  private openPlace(saleId: string, userId: string): Promise<{ room: RoomSnapshot; own: Own | null }> {
    return new Promise((resolve, reject) => {
      let batch = this.opening.get(saleId);
      if (!batch) {
        const mine: Opening[] = [];
        batch = mine;
        this.opening.set(saleId, mine);
        setImmediate(() => {
          this.opening.delete(saleId);
          this.d.room
            .places(
              saleId,
              mine.map((o) => o.userId),
            )
            .then(
              (read) => {
                for (const [j, o] of mine.entries()) o.resolve(read[j] as (typeof read)[number]);
              },
              (err: unknown) => {
                for (const o of mine) o.reject(err);
              },
            );
        });
      }
      batch.push({ userId, resolve, reject });
    });
  }

  /** Streams open, for tests and metrics. */
  size(): number {
    return this.streams.size();
  }

  private feed(saleId: string, ch: Channel<Follower>, signal: AbortSignal): void {
    const rooms = this.d.sampler.watch(`queue:${saleId}`, () => this.d.room.room(saleId), {
      intervalMs: this.d.tickMs,
      signal,
    });
    void (async () => {
      for await (const room of rooms) {
        if (room === 'UNQUEUED') {
          // No longer a queued sale: the procedure's generator returns.
          for (const f of ch.subscribers) end(f, RETURN);
          continue;
        }
        const due: Follower[] = [];
        for (const f of ch.subscribers) if (this.advance(saleId, f, room)) due.push(f);
        if (due.length > 0) this.readPlaces(saleId, room, due);
      }
    })().catch((err: unknown) => {
      this.d.log.error({ err, saleId }, 'live.queue fan-out failed; its streams end');
      for (const f of ch.subscribers) f.res.destroy();
    });
  }

  /**
   * One shared read of the room reaches a follower: its frame, or true when its own place must
   * be read again first (`ownReadDue`; the caller reads those of a tick together).
   */
  private advance(saleId: string, f: Follower, room: RoomSnapshot): boolean {
    if (f.reading || room.nowMs < f.atMs) return false;
    if (!ownReadDue(room, f.own, f.ownReadAtMs)) {
      this.send(saleId, f, room);
      return false;
    }
    f.reading = true;
    return true;
  }

  /**
   * The places of a tick's due followers, with the room, in one Redis step (queue-read-many.lua)
   * — not one read per follower. A follower whose ticket is gone gets NOT_IN_QUEUE; a failed
   * read ends each stream with its error, as the procedure's generator throwing would.
   */
  private readPlaces(saleId: string, room: RoomSnapshot, due: Follower[]): void {
    this.d.room
      .places(
        saleId,
        due.map((f) => f.userId),
      )
      .then(
        // The frame is derived from the shared read that found the place due (its time is the
        // frame's id), as the procedure derives it: the same bytes.
        (read) => {
          due.forEach((f, i) => {
            f.reading = false;
            if (f.res.destroyed) return;
            const own = read[i]?.own;
            if (!own) {
              end(f, sseEvent('serialized-error', this.d.errorData(appError('NOT_IN_QUEUE'), { saleId })));
              return;
            }
            f.own = own;
            f.ownReadAtMs = room.nowMs;
            if (room.nowMs >= f.atMs) this.send(saleId, f, room);
          });
        },
        (err: unknown) => {
          for (const f of due) {
            f.reading = false;
            end(f, sseEvent('serialized-error', this.d.errorData(err, { saleId })));
          }
        },
      );
  }

  private send(saleId: string, f: Follower, room: RoomSnapshot): void {
    const ticket = ticketOf(saleId, room, f.own, (expiresMs) => {
      if (f.token?.expiresMs !== expiresMs)
        f.token = { expiresMs, value: this.d.room.sign(saleId, f.userId, expiresMs) };
      return f.token.value;
    });
    const json = JSON.stringify(ticket);
    f.atMs = room.nowMs;
    if (json === f.last) return;
    f.last = json;
    if (!f.res.writableEnded) f.res.write(trackedFrame(json, String(room.nowMs)));
  }
}

/** The stream's last event, once (the procedure's generator returned or threw). */
function end(f: Follower, last: string | Buffer): void {
  if (!f.res.writableEnded && !f.res.destroyed) f.res.end(last);
}
