import type { HistoryEvent } from '../support/checker/index.ts';
import { esc, polyline } from '../support/svg.ts';
import type { FaultRecord } from './nemesis.ts';

/**
 * The fault run's report: answers by kind, each fault's unavailability, and a timeline picture
 * (SVG: successful orders per second, p99 latency of order.place, faults as bands).
 */

export interface Unavailability {
  /** Longest stretch without a successful order.place, from the fault's start to the next fault. */
  longestGapMs: number;
  /** From the heal to the first successful order.place invoked after it. */
  recoveryMs: number | null;
}

export interface FaultWindow extends FaultRecord, Unavailability {
  /** The same, counted on each sale alone (a trickle on one sale no longer hides another's outage). */
  perSale: Record<string, Unavailability>;
}

export interface Series {
  second: number;
  ok: number;
  calls: number;
  p99Ms: number;
}

interface PlaceCall {
  saleId: string;
  invoked: number;
  completed: number | null;
  type: string;
  reason?: string;
}

function placeCalls(events: readonly HistoryEvent[]): PlaceCall[] {
  const open = new Map<number, PlaceCall>();
  const calls: PlaceCall[] = [];
  for (const e of events) {
    if (e.f !== 'place') continue;
    if (e.type === 'invoke') {
      const saleId = (e.value as { saleId?: string } | null)?.saleId ?? '';
      const c: PlaceCall = { saleId, invoked: e.time, completed: null, type: 'info' };
      open.set(e.op, c);
      calls.push(c);
    } else {
      const c = open.get(e.op);
      if (!c) continue;
      c.completed = e.time;
      c.type = e.type;
      c.reason = (e.value as { reason?: string } | null)?.reason;
    }
  }
  return calls;
}

/** Calls by completion: `ok`, `fail <reason>`, `info <reason>` (reasons of info shortened). */
export function answersByKind(events: readonly HistoryEvent[]) {
  const byF: Record<string, Record<string, number>> = {};
  for (const e of events) {
    if (e.type === 'invoke') continue;
    const reason = (e.value as { reason?: string } | null)?.reason;
    const label =
      e.type === 'ok' ? 'ok' : `${e.type} ${(reason ?? '').replace(/^no answer: .*/, 'no answer')}`.trim();
    const f = byF[e.f] ?? {};
    f[label] = (f[label] ?? 0) + 1;
    byF[e.f] = f;
  }
  return byF;
}

export function series(events: readonly HistoryEvent[]): Series[] {
  const calls = placeCalls(events);
  const end = Math.ceil((events.at(-1)?.time ?? 0) / 1000);
  const out: Series[] = Array.from({ length: end + 1 }, (_, second) => ({
    second,
    ok: 0,
    calls: 0,
    p99Ms: 0,
  }));
  const latencies: number[][] = out.map(() => []);
  for (const c of calls) {
    if (c.completed === null) continue;
    const s = Math.floor(c.completed / 1000);
    const bin = out[s];
    if (!bin) continue;
    bin.calls++;
    if (c.type === 'ok') bin.ok++;
    latencies[s]?.push(c.completed - c.invoked);
  }
  out.forEach((b, i) => {
    const l = (latencies[i] ?? []).sort((a, z) => a - z);
    b.p99Ms = l.length ? Math.round(l[Math.min(l.length - 1, Math.floor(l.length * 0.99))] ?? 0) : 0;
  });
  return out;
}

/** Longest stretch without a success in [from, until], and the first success invoked after `healed`. */
function unavailability(
  oks: readonly PlaceCall[],
  from: number,
  until: number,
  healed: number,
): Unavailability {
  let last = from;
  let longestGapMs = 0;
  for (const c of oks) {
    const t = c.completed ?? 0;
    if (t < from) continue;
    if (t > until) break;
    longestGapMs = Math.max(longestGapMs, t - last);
    last = t;
  }
  longestGapMs = Math.round(Math.max(longestGapMs, until - last));
  const first = oks.find((c) => c.invoked >= healed);
  return { longestGapMs, recoveryMs: first ? Math.round((first.completed ?? 0) - healed) : null };
}

export function faultWindows(
  events: readonly HistoryEvent[],
  faults: readonly FaultRecord[],
  endMs: number,
  saleIds: readonly string[] = [],
) {
  const oks = placeCalls(events)
    .filter((c) => c.type === 'ok' && c.completed !== null)
    .sort((a, z) => (a.completed ?? 0) - (z.completed ?? 0));
  const bySale = new Map(saleIds.map((id) => [id, oks.filter((c) => c.saleId === id)]));
  return faults.map((f, i): FaultWindow => {
    const until = faults[i + 1]?.start ?? endMs;
    const perSale: Record<string, Unavailability> = {};
    for (const [id, list] of bySale) perSale[id] = unavailability(list, f.start, until, f.healed);
    return { ...f, ...unavailability(oks, f.start, until, f.healed), perSale };
  });
}

/** The sale that was unavailable longest during a fault, and for how long. */
export function worstSale(
  w: FaultWindow,
): { saleId: string; longestGapMs: number; recoveryMs: number | null } | null {
  let worst: { saleId: string; longestGapMs: number; recoveryMs: number | null } | null = null;
  for (const [saleId, u] of Object.entries(w.perSale))
    if (!worst || u.longestGapMs > worst.longestGapMs) worst = { saleId, ...u };
  return worst;
}

/** The timeline picture: two panels sharing the time axis, faults as shaded bands. */
export function timelineSvg(s: readonly Series[], faults: readonly FaultRecord[], title: string): string {
  const W = 1100;
  const left = 60;
  const right = 20;
  const panel = 150;
  const top = 40;
  const gap = 40;
  const H = top + 2 * panel + gap + 50;
  const seconds = Math.max(1, s.length);
  const x = (ms: number) => left + ((W - left - right) * ms) / (seconds * 1000);
  const maxOk = Math.max(1, ...s.map((b) => b.ok));
  const maxP99 = Math.max(1, ...s.map((b) => b.p99Ms));
  const y1 = (v: number) => top + panel - (panel * v) / maxOk;
  const y2 = (v: number) => top + panel + gap + panel - (panel * v) / maxP99;
  const line = (pts: [number, number][], color: string) => polyline(pts, color, 1.5);
  const colors: Record<string, string> = {
    'kill-server': '#e4572e',
    'kill-worker': '#f3a712',
    'redis-wipe': '#a8201a',
    'redis-outage': '#db7f67',
    'redis-rollback': '#6d2e46',
    'postgres-restart': '#29335c',
    'nats-restart': '#669bbc',
    'stop-server': '#8e6c88',
    'stop-worker': '#c9a227',
    'kill-during-rebuild': '#2e933c',
    'kill-during-restock': '#5c946e',
    'redis-node-kill': '#7b2cbf',
    'nats-restart-twice': '#118ab2',
  };
  const bands = faults
    .map((f, i) => {
      const x0 = x(f.start);
      const x1 = Math.max(x0 + 2, x(f.ready));
      const c = colors[f.kind] ?? '#888';
      return (
        `<rect x="${x0.toFixed(1)}" y="${top}" width="${(x1 - x0).toFixed(1)}" height="${2 * panel + gap}" fill="${c}" opacity="0.22"/>` +
        `<text x="${(x0 + 2).toFixed(1)}" y="${top - 6 - (i % 2) * 12}" font-size="10" fill="${c}">${esc(f.kind)} ${esc(f.target)}</text>`
      );
    })
    .join('\n');
  const ticks = Array.from({ length: Math.floor(seconds / 10) + 1 }, (_, i) => i * 10)
    .map(
      (t) =>
        `<text x="${x(t * 1000).toFixed(1)}" y="${H - 30}" font-size="10" text-anchor="middle">${t}s</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<title>${esc(title)}: successful orders per second, p99 latency, faults as bands</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${left}" y="14" font-size="13" font-weight="bold">${esc(title)}</text>
${bands}
<rect x="${left}" y="${top}" width="${W - left - right}" height="${panel}" fill="none" stroke="#999"/>
<rect x="${left}" y="${top + panel + gap}" width="${W - left - right}" height="${panel}" fill="none" stroke="#999"/>
<text x="4" y="${top + 12}" font-size="10">${maxOk} ok/s</text><text x="4" y="${top + panel}" font-size="10">0</text>
<text x="4" y="${top + panel + gap + 12}" font-size="10">${maxP99} ms</text><text x="4" y="${top + 2 * panel + gap}" font-size="10">0</text>
<text x="${left + 4}" y="${top + 12}" font-size="11" fill="#1b6ca8">successful order.place per second</text>
<text x="${left + 4}" y="${top + panel + gap + 12}" font-size="11" fill="#b5179e">p99 latency of order.place (ms)</text>
${line(
  s.map((b) => [x(b.second * 1000 + 500), y1(b.ok)]),
  '#1b6ca8',
)}
${line(
  s.map((b) => [x(b.second * 1000 + 500), y2(b.p99Ms)]),
  '#b5179e',
)}
${ticks}
<text x="${left}" y="${H - 8}" font-size="10" fill="#555">shaded: a fault from its injection until every server and worker is ready again</text>
</svg>
`;
}
