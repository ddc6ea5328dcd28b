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
  /** docs/architecture.md#live-data live reconciliation; null while the sale rebuilds or a store cannot be read. */
  reconciliation: Reconciliation | null;
  /** A queued sale's waiting room (docs/architecture.md#the-waiting-room): admissions per second, and those admitted within
   * the token lifetime who have not placed an accepted order. */
  room: { admittedPerSec: number; outstanding: number } | null;
}

/**
 * Total stock (PostgreSQL) against remaining + Σ quantity of open reservation records (Redis)
 * + Σ quantity of live rows without an open record (PostgreSQL). `flagged` once they have
 * disagreed for `RECONCILE_FLAG_MS` (5 s) in a row.
 */
export interface Reconciliation {
  total: number;
  remaining: number;
  held: number;
  persisted: number;
  /** total − (remaining + held + persisted): 0 when they agree. */
  difference: number;
  /** How long they have disagreed without a break (0 while they agree). */
  disagreeingMs: number;
  flagged: boolean;
}

export const RECONCILE_FLAG_MS = 5000;

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
  /** `order.place` latency (every answer, inside the server) over the last `windowS` finished
   * seconds, merged over every server; p50/p99 null while no order was placed in the window. */
  latency: { windowS: number; count: number; p50Ms: number | null; p99Ms: number | null };
  queue: { streamMessages: number; consumerPending: number; ackPending: number };
  outbox: number;
  /** `order.place` answers in the last finished second by kind (accepted, replay, or the
   * refusal's reason), summed over every server. */
  answers: Record<string, number>;
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
