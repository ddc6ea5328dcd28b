// The fault run's account of rebuilds (tests/chaos/rebuilds.ts), read from the servers' logs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rebuildSummary, rebuildsOf } from '../chaos/rebuilds.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function log(lines: object[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'surge-rebuilds-'));
  dirs.push(dir);
  const file = join(dir, 'server-1.log');
  writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  return file;
}

describe('rebuilds in a fault run', () => {
  it('a rebuild that went past orphaned records is done, not blocked, and counts them', () => {
    const file = log([
      { time: 1000, pid: 1, saleId: 'a', event: 'rebuild.start' },
      { time: 2000, pid: 1, saleId: 'a', event: 'rebuild.orphans', count: 2 },
      { time: 2100, pid: 1, saleId: 'a', event: 'rebuild.done', waitedMs: 1100 },
      { time: 3000, pid: 1, saleId: 'b', event: 'rebuild.start' },
      {
        time: 9000,
        pid: 1,
        saleId: 'b',
        event: 'rebuild.blocked',
        waitingFor: ['3 unsettled reservation(s)'],
      },
    ]);
    const rs = rebuildsOf([{ server: 'server-1', file }], 0);
    expect(rs.map((r) => [r.saleId, r.outcome, r.ms])).toEqual([
      ['a', 'done', 1100],
      ['b', 'blocked', 6000],
    ]);
    expect(rebuildSummary(rs)).toMatchObject({
      count: 2,
      done: 1,
      blocked: 1,
      orphansPassed: 2,
      blockedOn: { 'n unsettled reservation(s)': 1 },
    });
  });
});
