import type { OrderView, Sale } from './sale.ts';

/**
 * Frames of the live subscriptions (`live.*`, docs/architecture.md#live-data), pushed over SSE at
 * most ~4 per second per stream. Every number comes from Redis, NATS or PostgreSQL — never one
 * process's memory — so a subscriber on any server instance sees every order.
 */
export type LiveSale = Sale;
export type LiveOrder = OrderView;

export type Health = 'up' | 'down';

export interface HudEvent {
  /** Redis stream id: increasing, used to resume without gaps or repeats. */
  id: string;
  at: string;
  kind: 'admin' | 'rate-limit' | 'duplicate' | 'dead-letter' | 'breaker' | 'health' | 'rebuild' | 'alarm';
  message: string;
  data?: Record<string, unknown>;
}

export interface HudSale extends Sale {
  acceptedPerSec: number;
  persistedPerSec: number;
  outbox: number;
}

export interface HudInstance {
  id: string;
  kind: 'server' | 'worker';
  /** `down` when its heartbeat is older than 2.5 s; gone from the list after 60 s. */
  health: Health;
  state: string;
  lastSeen: string;
  detail: Record<string, string | number | boolean>;
}

export interface HudFrame {
  at: string;
  sales: HudSale[];
  throughput: { acceptedPerSec: number; persistedPerSec: number };
  queue: { streamMessages: number; consumerPending: number; ackPending: number };
  outbox: number;
  dlq: { depth: number; oldestAgeMs: number | null };
  health: {
    redis: Health;
    nats: Health;
    postgres: Health;
    breaker: 'closed' | 'open' | 'half-open';
    instances: HudInstance[];
  };
  /** Events since the previous frame; the first frame carries recent history. */
  events: HudEvent[];
}

export interface DeadLetterView {
  id: string;
  orderId?: string;
  saleId?: string;
  reason: string;
  firstSeenAt: string;
  correlationId?: string;
  /** Only dead letters whose order row is FAILED can be replayed. */
  replayable: boolean;
}
