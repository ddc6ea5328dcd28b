import type { Health, HudFrame } from '@surge/contracts';
import { Cpu, Database, HardDrive, Network, Server, ShieldCheck } from 'lucide-react';
import type { ReactNode } from 'react';
import { formatAge } from '../../lib/format.ts';

function Check({
  label,
  health,
  testId,
  icon,
}: {
  label: string;
  health: Health;
  testId: string;
  icon: ReactNode;
}) {
  return (
    <li className="health-item" data-testid={testId} data-health={health}>
      {icon}
      <span>{label}</span>
      <span className="health-pill">{health}</span>
    </li>
  );
}

/** Redis, NATS, PostgreSQL, the breaker, and every server and worker by heartbeat. */
export function HealthPanel({ frame }: { frame: HudFrame | null }) {
  const h = frame?.health;
  const now = frame ? Date.parse(frame.at) : 0;
  return (
    <section className="panel" aria-labelledby="health-title">
      <h2 id="health-title" className="panel-title">
        <ShieldCheck size={18} aria-hidden /> Health
      </h2>
      {!h ? (
        <p className="muted">Waiting for the first frame…</p>
      ) : (
        <>
          <ul className="health-grid">
            <Check
              label="Redis"
              health={h.redis}
              testId="health-redis"
              icon={<HardDrive size={16} aria-hidden />}
            />
            <Check
              label="NATS"
              health={h.nats}
              testId="health-nats"
              icon={<Network size={16} aria-hidden />}
            />
            <Check
              label="PostgreSQL"
              health={h.postgres}
              testId="health-postgres"
              icon={<Database size={16} aria-hidden />}
            />
            <li
              className="health-item"
              data-testid="health-breaker"
              data-state={h.breaker}
              data-health={h.breaker === 'closed' ? 'up' : 'down'}
            >
              <ShieldCheck size={16} aria-hidden />
              <span>Breaker</span>
              <span className="health-pill">{h.breaker}</span>
            </li>
          </ul>
          <h3 className="subtitle">Instances</h3>
          <ul className="instances">
            {h.instances.length === 0 ? <li className="muted">No heartbeats.</li> : null}
            {h.instances.map((i) => (
              <li
                key={`${i.kind}:${i.id}`}
                className="instance"
                data-testid={`instance-${i.id}`}
                data-health={i.health}
                title={Object.entries(i.detail)
                  .map(([k, v]) => `${k}: ${v}`)
                  .join('\n')}
              >
                {i.kind === 'server' ? <Server size={16} aria-hidden /> : <Cpu size={16} aria-hidden />}
                <span className="instance-id">
                  <span className="instance-kind">{i.kind}</span> {i.id}
                </span>
                <span className="instance-state">{i.state}</span>
                <span className="num muted instance-seen">
                  {formatAge(Math.max(0, now - Date.parse(i.lastSeen)))}
                </span>
                <span className="health-pill">{i.health}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
