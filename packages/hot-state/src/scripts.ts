import type { Redis } from 'ioredis';
import type { SaleKeys } from './keys.ts';
import adminUpdateLua from './lua/admin-update.lua';
import claimRecordLua from './lua/claim-record.lua';
import finishRecordLua from './lua/finish-record.lua';
import markPublishedLua from './lua/mark-published.lua';
import reReserveLua from './lua/re-reserve.lua';
import releaseReservationLua from './lua/release-reservation.lua';
import reserveStockLua from './lua/reserve-stock.lua';
import takeLeaseLua from './lua/take-lease.lua';
import writeHotStateLua from './lua/write-hot-state.lua';

/**
 * The Lua steps of the order path, registered on an ioredis client with `defineCommand`
 * (EVALSHA, falling back to EVAL after a NOSCRIPT). Each wrapper names its keys so a caller
 * cannot pass them in the wrong order.
 */
const SCRIPTS = {
  surgeReserve: { lua: reserveStockLua, keys: 7 },
  surgeMarkPublished: { lua: markPublishedLua, keys: 3 },
  surgeRelease: { lua: releaseReservationLua, keys: 6 },
  surgeTakeLease: { lua: takeLeaseLua, keys: 2 },
  surgeAdminUpdate: { lua: adminUpdateLua, keys: 2 },
  surgeWriteHot: { lua: writeHotStateLua, keys: 8 },
  surgeClaim: { lua: claimRecordLua, keys: 2 },
  surgeFinish: { lua: finishRecordLua, keys: 5 },
  surgeReReserve: { lua: reReserveLua, keys: 7 },
} as const;
type ScriptName = keyof typeof SCRIPTS;
type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

export type ReserveReply = [string, ...string[]];

export class OrderScripts {
  constructor(private readonly redis: Redis) {
    for (const [name, def] of Object.entries(SCRIPTS)) {
      redis.defineCommand(name, { numberOfKeys: def.keys, lua: def.lua });
    }
  }

  private call(name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    const fn = (this.redis as unknown as Record<ScriptName, ScriptFn>)[name];
    return fn.apply(this.redis, args);
  }

  reserve(
    k: SaleKeys,
    a: {
      userId: string;
      idempotencyKey: string;
      quantity: number;
      orderId: string;
      token: string;
      leaseMs: number;
      replayOnly: boolean;
      correlationId: string;
    },
  ): Promise<ReserveReply> {
    return this.call(
      'surgeReserve',
      k.hot,
      k.rebuild,
      k.users,
      k.idem,
      k.res,
      k.outbox,
      k.open,
      a.userId,
      a.idempotencyKey,
      a.quantity,
      a.orderId,
      a.token,
      a.leaseMs,
      a.replayOnly ? '1' : '0',
      a.correlationId,
    ) as Promise<ReserveReply>;
  }

  markPublished(k: SaleKeys, orderId: string): Promise<'published' | 'done' | 'released' | 'GONE'> {
    return this.call('surgeMarkPublished', k.res, k.outbox, k.hot, orderId) as Promise<
      'published' | 'done' | 'released' | 'GONE'
    >;
  }

  release(k: SaleKeys, orderId: string, token: string): Promise<string[]> {
    return this.call(
      'surgeRelease',
      k.hot,
      k.users,
      k.idem,
      k.res,
      k.outbox,
      k.open,
      orderId,
      token,
    ) as Promise<string[]>;
  }

  takeLease(k: SaleKeys, orderId: string, token: string, leaseMs: number): Promise<string | null> {
    return this.call('surgeTakeLease', k.res, k.outbox, orderId, token, leaseMs) as Promise<string | null>;
  }

  /** Worker, SPEC §4 step 4: `reserved | published -> published` before persisting. */
  claim(k: SaleKeys, orderId: string): Promise<string[]> {
    return this.call('surgeClaim', k.res, k.outbox, orderId) as Promise<string[]>;
  }

  /** Worker, SPEC §4 steps 5–6: `-> done` with the stored final status (stock back if failed). */
  finish(k: SaleKeys, orderId: string, status: string): Promise<string> {
    return this.call(
      'surgeFinish',
      k.hot,
      k.users,
      k.res,
      k.outbox,
      k.open,
      orderId,
      status,
    ) as Promise<string>;
  }

  /** `admin.dlq.replay`: reserve a FAILED order again, by the rules of a new one. */
  reReserve(
    k: SaleKeys,
    a: {
      orderId: string;
      userId: string;
      idempotencyKey: string;
      quantity: number;
      token: string;
      leaseMs: number;
      correlationId: string;
      replayGen: number;
    },
  ): Promise<string[]> {
    return this.call(
      'surgeReReserve',
      k.hot,
      k.rebuild,
      k.users,
      k.idem,
      k.res,
      k.outbox,
      k.open,
      a.orderId,
      a.userId,
      a.idempotencyKey,
      a.quantity,
      a.token,
      a.leaseMs,
      a.correlationId,
      a.replayGen,
    ) as Promise<string[]>;
  }

  /** Pause/resume; or restock to the new absolute `total` (see admin-update.lua). */
  adminUpdate(
    k: SaleKeys,
    op: 'pause' | 'resume' | 'restock',
    total = 0,
  ): Promise<'OK' | 'MISSING' | 'REBUILDING'> {
    return this.call('surgeAdminUpdate', k.hot, k.rebuild, op, total) as Promise<
      'OK' | 'MISSING' | 'REBUILDING'
    >;
  }

  writeHot(
    k: SaleKeys,
    a: {
      token: string;
      hot: Record<string, string | number>;
      users: Record<string, number>;
      orders: [string, string, string, number, string, string, number][];
      expireAtSec: number;
    },
  ): Promise<number> {
    return this.call(
      'surgeWriteHot',
      k.hot,
      k.rebuild,
      k.rebuildLease,
      k.users,
      k.idem,
      k.res,
      k.outbox,
      k.open,
      a.token,
      JSON.stringify(a.hot),
      JSON.stringify(a.users),
      JSON.stringify(a.orders),
      a.expireAtSec,
    ) as Promise<number>;
  }
}
