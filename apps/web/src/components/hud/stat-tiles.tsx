import type { HudFrame } from '@surge/contracts';
import { Activity, Database, Inbox, Layers, Skull, Timer } from 'lucide-react';
import type { ReactNode } from 'react';
import { formatAge, formatCount, formatMs } from '../../lib/format.ts';
import type { RatePoint } from '../../lib/use-hud-stream.ts';
import { Sparkline } from './sparkline.tsx';

function Tile(props: {
  icon: ReactNode;
  label: string;
  value: string;
  testId: string;
  sub?: string;
  alert?: boolean;
}) {
  return (
    <div className="tile" data-alert={props.alert ? 'true' : undefined}>
      <span className="tile-label">
        {props.icon}
        {props.label}
      </span>
      <span className="tile-value num" data-testid={props.testId}>
        {props.value}
      </span>
      {props.sub ? <span className="tile-sub num">{props.sub}</span> : null}
    </div>
  );
}

/** The install at a glance: throughput and order latency with the sparkline, queue, outbox, dead letters. */
export function StatTiles({ frame, history }: { frame: HudFrame | null; history: RatePoint[] }) {
  const f = frame;
  const dash = '—';
  return (
    <section className="tiles" aria-label="Live statistics">
      <div className="tile tile-wide">
        <div className="tile-rates">
          <div>
            <span className="tile-label">
              <Activity size={14} aria-hidden /> Accepted / s
            </span>
            <span className="tile-value num accent-a" data-testid="stat-accepted">
              {f ? f.throughput.acceptedPerSec.toFixed(1) : dash}
            </span>
          </div>
          <div>
            <span className="tile-label">
              <Database size={14} aria-hidden /> Persisted / s
            </span>
            <span className="tile-value num accent-b" data-testid="stat-persisted">
              {f ? f.throughput.persistedPerSec.toFixed(1) : dash}
            </span>
          </div>
          <div>
            <span className="tile-label" title="order.place, every server, inside the server">
              <Timer size={14} aria-hidden /> Order p50 / p99 · {f?.latency.windowS || 10} s
            </span>
            <span className="tile-value num tile-latency" data-testid="stat-latency">
              <span data-testid="stat-p50">
                {f?.latency.p50Ms != null ? formatMs(f.latency.p50Ms) : dash}
              </span>
              {' / '}
              <span data-testid="stat-p99">
                {f?.latency.p99Ms != null ? formatMs(f.latency.p99Ms) : dash}
              </span>
              <span className="tile-unit"> ms</span>
            </span>
          </div>
        </div>
        <Sparkline points={history} />
      </div>
      <Tile
        icon={<Layers size={14} aria-hidden />}
        label="Queue"
        testId="stat-queue"
        value={f ? formatCount(f.queue.consumerPending) : dash}
        sub={
          f
            ? `${formatCount(f.queue.streamMessages)} in stream · ${formatCount(f.queue.ackPending)} unacked`
            : undefined
        }
      />
      <Tile
        icon={<Inbox size={14} aria-hidden />}
        label="Outbox"
        testId="stat-outbox"
        value={f ? formatCount(f.outbox) : dash}
        sub="awaiting the worker"
        alert={(f?.outbox ?? 0) > 1000}
      />
      <Tile
        icon={<Skull size={14} aria-hidden />}
        label="Dead letters"
        testId="stat-dlq"
        value={f ? formatCount(f.dlq.depth) : dash}
        sub={
          f
            ? f.dlq.oldestAgeMs === null
              ? 'none waiting'
              : `oldest ${formatAge(f.dlq.oldestAgeMs)}`
            : undefined
        }
        alert={(f?.dlq.depth ?? 0) > 0}
      />
    </section>
  );
}
