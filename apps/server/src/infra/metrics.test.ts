import { describe, expect, it } from 'vitest';
import { createServerMetrics } from './metrics.ts';

describe('server gauges', () => {
  it('are set at scrape time from one read shared by all of them', async () => {
    const m = createServerMetrics();
    let reads = 0;
    m.readGaugesFrom(async () => {
      reads++;
      return {
        sales: [
          { id: 'shoes', remaining: 3, outbox: 1 },
          { id: 'lost', remaining: null, outbox: 0 },
        ],
        queueDepth: 7,
      };
    });
    const text = await m.registry.metrics();
    expect(reads).toBe(1);
    expect(text).toMatch(/^surge_sale_remaining\{sale="shoes"\} 3$/m);
    expect(text).not.toMatch(/surge_sale_remaining\{sale="lost"\}/);
    expect(text).toMatch(/^surge_outbox_size\{sale="shoes"\} 1$/m);
    expect(text).toMatch(/^surge_outbox_size\{sale="lost"\} 0$/m);
    expect(text).toMatch(/^surge_queue_depth 7$/m);
  });

  it('keep the last values when a read fails, and drop a sale the next read does not list', async () => {
    const m = createServerMetrics();
    let reply: Promise<{
      sales: { id: string; remaining: number | null; outbox: number }[];
      queueDepth: number;
    }> = Promise.resolve({ sales: [{ id: 'shoes', remaining: 3, outbox: 1 }], queueDepth: 7 });
    m.readGaugesFrom(() => reply);
    await m.registry.metrics();
    reply = Promise.reject(new Error('Connection is closed.'));
    let text = await m.registry.metrics();
    expect(text).toMatch(/^surge_sale_remaining\{sale="shoes"\} 3$/m);
    expect(text).toMatch(/^surge_queue_depth 7$/m);
    reply = Promise.resolve({ sales: [], queueDepth: 0 });
    text = await m.registry.metrics();
    expect(text).not.toMatch(/^surge_sale_remaining\{/m);
    expect(text).toMatch(/^surge_queue_depth 0$/m);
  });
});
