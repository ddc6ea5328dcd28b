import type { StoreHealth } from '@surge/infra';

export interface Readiness {
  ready: boolean;
  checks: Record<string, unknown>;
}

/**
 * The server's `/readyz`: ready while Redis (never evicting) and NATS answer and no shutdown
 * has begun. PostgreSQL and the breaker are reported, not required: the order path does not
 * touch PostgreSQL, and an open breaker is closed by the very calls a load balancer would stop
 * (docs/architecture.md, "The publish breaker, the sweeper and redelivery").
 */
export function readinessCheck(d: {
  health: StoreHealth;
  breakerState(): string;
  shuttingDown(): boolean;
}): () => Promise<Readiness> {
  return async () => {
    const checks: Record<string, unknown> = {};
    checks.redis = await d.health.redis();
    checks.nats = d.health.nats();
    checks.postgres = await d.health.postgres();
    checks.breaker = d.breakerState();
    const shuttingDown = d.shuttingDown();
    const ready = !shuttingDown && checks.redis === 'ok' && checks.nats === 'ok';
    return { ready, checks: { ...checks, shuttingDown } };
  };
}
