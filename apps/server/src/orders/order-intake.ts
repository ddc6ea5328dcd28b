import type { PlaceOrderResult } from '@surge/contracts';
import type { OrderScripts, SaleKeys } from '@surge/hot-state';
import type { EventFeed } from '@surge/infra';
import type { ServerEnv } from '../env.ts';
import { isAppError } from '../errors.ts';
import { ipGroup } from '../http/client-ip.ts';
import type { ServerMetrics } from '../infra/metrics.ts';
import type { RateLimits } from '../limits/rate-limits.ts';
import type { AnswerCounts } from '../live/answer-counts.ts';
import type { PlaceLatency } from '../live/place-latency.ts';
import type { WaitingRoom } from '../queue/waiting-room.ts';
import type { SaleCatalog } from '../sales/catalog.ts';
import type { RebuildCoordinator } from '../sales/rebuild.ts';
import { type PlaceOrderDeps, type PlaceOrderInput, placeOrder } from './place-order.ts';
import type { OrderPublisher } from './publisher.ts';

/**
 * `order.place` as the procedure calls it: the rate limits, then the order path
 * (place-order.ts, framework-free), counted in the metrics and, for duplicate attempts, in the
 * event feed. The order path's dependencies are bound once, here.
 */
export class OrderIntake {
  private readonly placeDeps: PlaceOrderDeps;

  constructor(
    private readonly d: {
      leaseMs: number;
      keysOf(saleId: string): SaleKeys;
      scripts: OrderScripts;
      publisher: OrderPublisher;
      catalog: SaleCatalog;
      rebuild: RebuildCoordinator;
      limits: RateLimits;
      metrics: ServerMetrics;
      events: EventFeed;
      room: WaitingRoom;
      /** Answers by kind for the HUD's chart (in memory; flushed to Redis once a second). */
      answers?: Pick<AnswerCounts, 'add'>;
      /** Each answer's time for the HUD's p50/p99 (in memory; flushed to Redis once a second). */
      latency?: Pick<PlaceLatency, 'record'>;
      afterReserve?: PlaceOrderDeps['afterReserve'];
      ipUnitLimit?: number;
    },
  ) {
    const { scripts, publisher, catalog, rebuild, room } = d;
    this.placeDeps = {
      leaseMs: d.leaseMs,
      retryAfterMs: 500,
      keysOf: d.keysOf,
      saleExists: (id: string) => catalog.exists(id),
      acceptsNewOrders: () => publisher.acceptsNewOrders(),
      reserve: scripts.reserve.bind(scripts),
      publish: publisher.publish.bind(publisher),
      markPublished: scripts.markPublished.bind(scripts),
      release: scripts.release.bind(scripts),
      requestRebuild: (saleId: string) => rebuild.request(saleId),
      saleEnded: (saleId: string) => catalog.ended(saleId),
      // A sale this process learnt of only now: its token is judged here, after the lookup.
      admission: (i) =>
        catalog.queued(i.saleId) ? room.admissionOf(i.saleId, i.userId, i.admissionToken) : null,
      afterReserve: d.afterReserve,
      ipUnitLimit: d.ipUnitLimit,
    };
  }

  async place(input: PlaceOrderInput & { ip: string }): Promise<PlaceOrderResult> {
    const { metrics, limits, events } = this.d;
    metrics.ordersReceived.inc();
    const end = metrics.placeLatency.startTimer();
    const began = performance.now();
    try {
      // docs/architecture.md#error-reasons: on a sale known to be queued, a missing, forged or foreign admission token is
      // refused before any I/O and before a rate-limit token is spent.
      const tokenExpiresMs = this.d.catalog.queued(input.saleId)
        ? this.d.room.admissionOf(input.saleId, input.userId, input.admissionToken)
        : undefined;
      await limits.consume('order-user', input.userId);
      await limits.consume('order-ip', input.ip);
      const result = await placeOrder(this.placeDeps, {
        ...input,
        ipGroup: ipGroup(input.ip),
        tokenExpiresMs,
      });
      this.d.answers?.add(result.replayed ? 'replay' : 'accepted');
      if (result.replayed) {
        metrics.ordersReplayed.inc();
        events.coalesce('duplicate', input.saleId, `duplicate order attempts on ${input.saleId} (replayed)`, {
          saleId: input.saleId,
        });
      } else metrics.ordersAccepted.inc();
      return result;
    } catch (err) {
      const reason = isAppError(err) ? err.reason : 'INTERNAL';
      metrics.ordersRejected.inc({ reason });
      this.d.answers?.add(reason);
      if (reason === 'IDEMPOTENCY_IN_FLIGHT' || reason === 'IDEMPOTENCY_MISMATCH') {
        events.coalesce(
          'duplicate',
          `${input.saleId}:${reason}`,
          `duplicate order attempts on ${input.saleId} (${reason})`,
          {
            saleId: input.saleId,
          },
        );
      }
      throw err;
    } finally {
      end();
      this.d.latency?.record(performance.now() - began);
    }
  }
}

/** Test-only fault hooks between reserve and publish (off unless their variable is set). */
export function faultAfterReserve(env: ServerEnv): (() => void | Promise<void>) | undefined {
  if (env.SURGE_FAULT_EXIT_AFTER_RESERVE) {
    return () => {
      process.kill(process.pid, 'SIGKILL');
    };
  }
  const delay = env.SURGE_FAULT_PUBLISH_DELAY_MS;
  if (delay > 0) return () => new Promise((r) => setTimeout(r, delay));
  return undefined;
}
