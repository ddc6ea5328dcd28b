import { type Logger, startLoop } from '@surge/infra';
import type { SaleCatalog } from '../sales/catalog.ts';
import type { WaitingRoom } from './waiting-room.ts';

/**
 * Every server ticks the admission clock of every open queued sale (docs/architecture.md#the-waiting-room). The clock itself
 * is admit.lua in Redis — one atomic step reading Redis time — so however many servers tick,
 * the rate, the order and the outstanding cap are judged once; a server that dies leaves the
 * room to the others, and a room with no server left simply waits.
 */
export function startAdmissionClock(d: {
  catalog: SaleCatalog;
  room: WaitingRoom;
  intervalMs: number;
  log: Logger;
  onAdmitted?: (saleId: string, n: number) => void;
}): { stop(): Promise<void> } {
  let stopped = false;
  let lastWarn = 0;
  const tick = async () => {
    for (const saleId of d.catalog.openQueuedIds()) {
      if (stopped) return;
      try {
        const n = await d.room.admit(saleId);
        if (n > 0) d.onAdmitted?.(saleId, n);
      } catch (err) {
        if (Date.now() - lastWarn > 5000) {
          lastWarn = Date.now();
          d.log.warn({ err, saleId }, 'admission tick failed');
        }
      }
    }
  };
  const loop = startLoop(d.intervalMs, tick, (err) => d.log.warn({ err }, 'admission tick failed'));
  return {
    async stop() {
      stopped = true;
      await loop.stop();
    },
  };
}
