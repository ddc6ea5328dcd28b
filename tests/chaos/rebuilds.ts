import { readFileSync } from 'node:fs';

/**
 * The rebuilds a fault run's servers logged (rebuild.start, then rebuild.done or
 * rebuild.blocked, docs/architecture.md#the-rebuild), paired per server process and sale: how
 * long each took and what a blocked one waited for — the evidence behind long SALE_REBUILDING
 * stretches.
 */
export interface Rebuild {
  server: string;
  saleId: string;
  /** ms on the history's clock. */
  start: number;
  end: number | null;
  ms: number | null;
  outcome: 'done' | 'blocked' | 'unfinished';
  waitingFor?: string[];
  /** A finished rebuild: how long it waited for its backlog, and on what. */
  waitedMs?: number;
  waitedFor?: string[];
  /** Orphaned `published` records the rebuild went past (rebuild.orphans: Redis rolled back). */
  orphans?: number;
}

export function rebuildsOf(logs: { server: string; file: string }[], wallStartMs: number): Rebuild[] {
  const out: Rebuild[] = [];
  for (const { server, file } of logs) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const open = new Map<string, Rebuild>();
    for (const line of text.split('\n')) {
      if (!line.includes('"event":"rebuild.')) continue;
      let e: {
        time: number;
        pid: number;
        saleId?: string;
        event: string;
        waitingFor?: string[];
        waitedMs?: number;
        waitedFor?: string[];
        count?: number;
      };
      try {
        e = JSON.parse(line);
      } catch {
        continue;
      }
      const key = `${e.pid}|${e.saleId}`;
      const t = e.time - wallStartMs;
      if (e.event === 'rebuild.start') {
        const r: Rebuild = {
          server,
          saleId: String(e.saleId),
          start: t,
          end: null,
          ms: null,
          outcome: 'unfinished',
        };
        open.set(key, r);
        out.push(r);
      } else if (e.event === 'rebuild.orphans') {
        // Said on the way, not an outcome: the rebuild goes on.
        const r = open.get(key);
        if (r) r.orphans = (r.orphans ?? 0) + (e.count ?? 0);
      } else {
        const r = open.get(key);
        if (!r) continue;
        open.delete(key);
        r.end = t;
        r.ms = Math.round(t - r.start);
        r.outcome = e.event === 'rebuild.done' ? 'done' : 'blocked';
        if (e.waitingFor) r.waitingFor = e.waitingFor;
        if (e.waitedMs !== undefined) r.waitedMs = e.waitedMs;
        if (e.waitedFor?.length) r.waitedFor = e.waitedFor;
      }
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Count, median and max duration, and the blocked ones' reasons. */
export function rebuildSummary(rs: readonly Rebuild[]) {
  const ms = rs
    .map((r) => r.ms)
    .filter((x): x is number => x !== null)
    .sort((a, b) => a - b);
  const reasons: Record<string, number> = {};
  const waitedOn: Record<string, number> = {};
  for (const r of rs)
    for (const w of r.waitedFor ?? []) if ((r.waitedMs ?? 0) >= 1000) waitedOn[w] = (waitedOn[w] ?? 0) + 1;
  for (const r of rs)
    for (const w of r.waitingFor ?? []) {
      const k = w.replace(/\d+/g, 'n');
      reasons[k] = (reasons[k] ?? 0) + 1;
    }
  return {
    count: rs.length,
    done: rs.filter((r) => r.outcome === 'done').length,
    blocked: rs.filter((r) => r.outcome === 'blocked').length,
    unfinished: rs.filter((r) => r.outcome === 'unfinished').length,
    medianMs: ms[Math.floor(ms.length / 2)] ?? null,
    p90Ms: ms[Math.floor(ms.length * 0.9)] ?? null,
    maxMs: ms.at(-1) ?? null,
    blockedOn: reasons,
    /** What the rebuilds that waited 1 s or more for their backlog waited on. */
    waitedOn,
    /** Orphaned `published` records rebuilds went past (a Redis rolled back to an older state). */
    orphansPassed: rs.reduce((n, r) => n + (r.orphans ?? 0), 0),
  };
}
