import type { HudEvent, HudFrame } from '@surge/contracts';
import { liveHudInput, liveOrderInput, liveQueueInput, liveSaleInput } from '@surge/contracts';
import { tracked } from '@trpc/server';
import { adminProcedure, publicProcedure, requireSession, router, toTRPCError } from '../trpc.ts';

/** ≤ 4 frames per second per stream (docs/architecture.md#live-data). */
export const LIVE_TICK_MS = 250;
const TICK_MS = LIVE_TICK_MS;
/** How often a HUD stream checks that its admin session still lives. */
const SESSION_CHECK_MS = 1000;

/**
 * An error thrown inside a stream reaches the client as an SSE `serialized-error`; it must
 * carry its real code, or the client takes it for a server fault and reconnects forever.
 */
function rethrow(err: unknown): never {
  throw toTRPCError(err);
}

/**
 * Live data over SSE. Each stream reads Redis/NATS through the process's shared sampler (one
 * read per subject per tick, however many subscribers) and yields `tracked()` frames so a
 * reconnecting EventSource resumes from its last id.
 */
export const liveRouter = router({
  sale: publicProcedure.input(liveSaleInput).subscription(async function* ({ ctx, input, signal }) {
    await ctx.services.sales.get(input.saleId).catch(rethrow); // SALE_NOT_FOUND, not a retry loop
    const stream = ctx.services.sampler.watch(
      `sale:${input.saleId}`,
      () => ctx.services.sales.get(input.saleId),
      {
        intervalMs: TICK_MS,
        signal: ctx.services.subscriptionSignal(signal),
        fingerprint: (s) => JSON.stringify({ ...s, serverTime: '' }),
      },
    );
    for await (const sale of stream) yield tracked(String(Date.parse(sale.serverTime)), sale);
  }),

  order: publicProcedure
    .input(liveOrderInput)
    .use(requireSession)
    .subscription(async function* ({ ctx, input, signal }) {
      await ctx.services.orders.get(input.orderId, ctx.userId).catch(rethrow); // ORDER_NOT_FOUND first
      const stream = ctx.services.sampler.watch(
        `order:${input.orderId}:${ctx.userId}`,
        () => ctx.services.orders.get(input.orderId, ctx.userId),
        { intervalMs: TICK_MS, signal: ctx.services.subscriptionSignal(signal) },
      );
      for await (const order of stream) yield tracked(`${order.orderId}:${order.status}`, order);
    }),

  // docs/architecture.md#the-waiting-room: the caller's ticket on every change; NOT_IN_QUEUE (and the rest) before any frame.
  queue: publicProcedure
    .input(liveQueueInput)
    .use(requireSession)
    .subscription(async function* ({ ctx, input, signal }) {
      const stream = ctx.services.room.watch(input.saleId, ctx.userId, ctx.services.sampler, {
        intervalMs: TICK_MS,
        signal: ctx.services.subscriptionSignal(signal),
      });
      try {
        for await (const { ticket, atMs } of stream) yield tracked(String(atMs), ticket);
      } catch (err) {
        rethrow(err);
      }
    }),

  hud: adminProcedure.input(liveHudInput).subscription(async function* ({ ctx, input, signal }) {
    const { sampler, hud, events } = ctx.services;
    // Listen first (the cursor), then read history: the event stream is persistent, so
    // nothing can fall between the two.
    const resumeFrom = input?.lastEventId ?? null;
    let backlog = resumeFrom ? await events.after(resumeFrom) : await events.recent(50);
    let cursor: string = backlog.at(-1)?.id ?? resumeFrom ?? '0-0';
    // README.md#security (issue 10 L1): the stream ends once its admin session is revoked or expires.
    const revoked = new AbortController();
    const watchSession = setInterval(() => {
      ctx.services.sessions.adminSessionId(ctx.req).then(
        (id) => {
          if (id !== ctx.adminSessionId) revoked.abort();
        },
        () => undefined, // Redis unreachable: not a revocation
      );
    }, SESSION_CHECK_MS);
    try {
      const stream = sampler.watch('hud', () => hud.read(), {
        intervalMs: TICK_MS,
        signal: ctx.services.subscriptionSignal(signal, revoked.signal),
        fingerprint: (f) => JSON.stringify({ ...f, at: '' }),
      });
      for await (const snapshot of stream) {
        const fresh: HudEvent[] = [...backlog, ...(await events.after(cursor))];
        backlog = [];
        cursor = fresh.at(-1)?.id ?? cursor;
        const frame: HudFrame = { ...snapshot, events: fresh };
        yield tracked(cursor, frame);
      }
    } finally {
      clearInterval(watchSession);
    }
  }),
});
