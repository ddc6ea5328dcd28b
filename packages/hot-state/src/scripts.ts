import type { Redis } from 'ioredis';
import { type ReservationRecord, SALE_KEY_ORDER, type SaleKeys, saleKeyList } from './keys.ts';
import adminUpdateLua from './lua/admin-update.lua';
import admitLua from './lua/admit.lua';
import claimRecordLua from './lua/claim-record.lua';
import finishRecordLua from './lua/finish-record.lua';
import markPublishedLua from './lua/mark-published.lua';
import preludeLua from './lua/prelude.lua';
import queueJoinLua from './lua/queue-join.lua';
import queueReadLua from './lua/queue-read.lua';
import queueReadManyLua from './lua/queue-read-many.lua';
import reReserveLua from './lua/re-reserve.lua';
import reconcileReadLua from './lua/reconcile-read.lua';
import releaseReservationLua from './lua/release-reservation.lua';
import reserveStockLua from './lua/reserve-stock.lua';
import takeLeaseLua from './lua/take-lease.lua';
import writeHotStateLua from './lua/write-hot-state.lua';
import {
  type AdminUpdateReply,
  asAdminUpdateReply,
  asAdmitReply,
  asClaimReply,
  asFinishReply,
  asMarkPublishedReply,
  asReleaseReply,
  asReplyList,
  asReReserveReply,
  asReserveReply,
  asRoomPlaces,
  asRoomReply,
  asTakenRecord,
  asWriteHotReply,
  type ClaimReply,
  type FinishReply,
  type MarkPublishedReply,
  type ReleaseReply,
  type ReReserveReply,
  type ReserveReply,
  type RoomPlaces,
  type RoomReply,
  type WriteHotReply,
} from './replies.ts';

/**
 * The Lua steps of the order path. Each is lua/prelude.lua (the sale's keys by name, the
 * record transitions and the sale checks, written once) joined with the step's own file, and
 * registered on an ioredis client with `defineCommand`: EVALSHA, falling back to EVAL after a
 * NOSCRIPT, so a Redis that restarted empty — or, on Redis Cluster, any primary that has not
 * seen a script yet — gets it again with no loading step of ours. Scripts are addressed by
 * the SHA of their text, so servers of two versions (a rolling deploy, test runs sharing one
 * Redis) never replace each other's steps, as they would with one named Functions library.
 * Every step takes the sale's twelve keys in SALE_KEY_ORDER; the wrappers pass them, so a
 * caller names a sale, never a key position. Each step is one arrow of the record's state
 * machine (docs/architecture.md#the-reservation-record).
 */
const STEPS = {
  surgeReserve: reserveStockLua,
  surgeMarkPublished: markPublishedLua,
  surgeRelease: releaseReservationLua,
  surgeTakeLease: takeLeaseLua,
  surgeAdminUpdate: adminUpdateLua,
  surgeWriteHot: writeHotStateLua,
  surgeClaim: claimRecordLua,
  surgeFinish: finishRecordLua,
  surgeReReserve: reReserveLua,
  surgeReconcileRead: reconcileReadLua,
  surgeQueueJoin: queueJoinLua,
  surgeQueueRead: queueReadLua,
  surgeQueueReadMany: queueReadManyLua,
  surgeAdmit: admitLua,
} as const;
type ScriptName = keyof typeof STEPS;
type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/**
 * The text Redis runs for one step: the prelude, then the step. `cluster` (an ioredis Cluster,
 * REDIS_CLUSTER) turns on the prelude's node fence.
 */
export function stepSource(step: string, cluster = false): string {
  return `local IN_CLUSTER = ${cluster}\n${preludeLua}\n${step}`;
}

/** The arguments of `reserve` (docs/architecture.md#reserve). */
export interface ReserveArgs {
  userId: string;
  idempotencyKey: string;
  quantity: number;
  orderId: string;
  token: string;
  leaseMs: number;
  /** Breaker open or NATS down: answer existing keys only (replay-only mode). */
  replayOnly: boolean;
  correlationId: string;
  /** Queued sales (docs/architecture.md#the-waiting-room): the verified admission token's expiry (ms); null without one. */
  tokenExpiresMs?: number | null;
  /** The caller's IP group and IP_UNIT_LIMIT (README.md#security); absent or 0: no per-IP cap. */
  ipGroup?: string;
  ipUnitLimit?: number;
}

export class OrderScripts {
  constructor(private readonly redis: Redis) {
    for (const [name, lua] of Object.entries(STEPS)) {
      const source = stepSource(lua, redis.isCluster);
      redis.defineCommand(name, { numberOfKeys: SALE_KEY_ORDER.length, lua: source });
    }
  }

  /** Runs one step on a sale's keys (all twelve, in SALE_KEY_ORDER) with its arguments. */
  private call(name: ScriptName, k: SaleKeys, ...args: (string | number)[]): Promise<unknown> {
    const fn = (this.redis as unknown as Record<ScriptName, ScriptFn>)[name];
    return fn.apply(this.redis, [...saleKeyList(k), ...args]);
  }

  async reserve(k: SaleKeys, a: ReserveArgs): Promise<ReserveReply> {
    const reply = await this.call(
      'surgeReserve',
      k,
      a.userId,
      a.idempotencyKey,
      a.quantity,
      a.orderId,
      a.token,
      a.leaseMs,
      a.replayOnly ? '1' : '0',
      a.correlationId,
      a.tokenExpiresMs == null ? '' : a.tokenExpiresMs,
      a.ipGroup ?? '',
      a.ipUnitLimit ?? 0,
    );
    return asReserveReply(reply);
  }

  /** `queue.join`: a place in the waiting room (`random` in [0, 1): a pre-start place). */
  async queueJoin(k: SaleKeys, userId: string, random: number): Promise<RoomReply> {
    return asRoomReply('queue-join', await this.call('surgeQueueJoin', k, userId, random));
  }

  /** The waiting room's figures and, with a userId, that user's ticket. */
  async queueRead(k: SaleKeys, userId = ''): Promise<RoomReply> {
    return asRoomReply('queue-read', await this.call('surgeQueueRead', k, userId));
  }

  /** The room's figures and the places of many users in one step (live.queue's followers). */
  async queueReadMany(k: SaleKeys, userIds: readonly string[]): Promise<RoomPlaces> {
    return asRoomPlaces(await this.call('surgeQueueReadMany', k, ...userIds), userIds.length);
  }

  /** One tick of the admission clock (admit.lua): how many were admitted. */
  async admit(k: SaleKeys): Promise<number> {
    return asAdmitReply(await this.call('surgeAdmit', k));
  }

  /** After a PubAck: `reserved -> published`. */
  async markPublished(k: SaleKeys, orderId: string): Promise<MarkPublishedReply> {
    return asMarkPublishedReply(await this.call('surgeMarkPublished', k, orderId));
  }

  /** A definite publish failure: `reserved -> released` with the lease token. */
  async release(k: SaleKeys, orderId: string, token: string): Promise<ReleaseReply> {
    return asReleaseReply(await this.call('surgeRelease', k, orderId, token));
  }

  /** The sweeper takes an expired lease; the record with the new lease, or null. */
  async takeLease(
    k: SaleKeys,
    orderId: string,
    token: string,
    leaseMs: number,
  ): Promise<ReservationRecord | null> {
    return asTakenRecord(await this.call('surgeTakeLease', k, orderId, token, leaseMs));
  }

  /** Worker: `reserved | published -> published` before persisting. */
  async claim(k: SaleKeys, orderId: string): Promise<ClaimReply> {
    const [reply] = await this.claimMany(k, [orderId]);
    if (!reply) throw new Error('claim-record answered nothing');
    return reply;
  }

  /** The worker's batch: claims every listed order of one sale in one call, replies in order. */
  async claimMany(k: SaleKeys, orderIds: readonly string[]): Promise<ClaimReply[]> {
    if (orderIds.length === 0) return [];
    return asReplyList(await this.call('surgeClaim', k, ...orderIds), orderIds.length, asClaimReply);
  }

  /** Worker or dead letter: `-> done` with the stored final status (stock back if failed). */
  async finish(k: SaleKeys, orderId: string, status: string): Promise<FinishReply> {
    const [reply] = await this.finishMany(k, [{ orderId, status }]);
    if (!reply) throw new Error('finish-record answered nothing');
    return reply;
  }

  /** The worker's batch: finishes every listed order of one sale in one call, replies in order. */
  async finishMany(
    k: SaleKeys,
    orders: readonly { orderId: string; status: string }[],
  ): Promise<FinishReply[]> {
    if (orders.length === 0) return [];
    const args = orders.flatMap((o) => [o.orderId, o.status]);
    return asReplyList(await this.call('surgeFinish', k, ...args), orders.length, asFinishReply);
  }

  /** `admin.dlq.replay`: reserve a FAILED order again, by the rules of a new one. */
  async reReserve(
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
  ): Promise<ReReserveReply> {
    const reply = await this.call(
      'surgeReReserve',
      k,
      a.orderId,
      a.userId,
      a.idempotencyKey,
      a.quantity,
      a.token,
      a.leaseMs,
      a.correlationId,
      a.replayGen,
    );
    return asReReserveReply(reply);
  }

  /** Pause/resume; restock to the new absolute `total`; or set the admission rate (admin-update.lua). */
  async adminUpdate(
    k: SaleKeys,
    op: 'pause' | 'resume' | 'restock' | 'rate',
    total = 0,
  ): Promise<AdminUpdateReply> {
    return asAdminUpdateReply(await this.call('surgeAdminUpdate', k, op, total));
  }

  /**
   * The HUD's reconciliation (docs/architecture.md#live-data): remaining (null: no hot state), Σ quantity of the open
   * reservation records and their orderIds, read in one atomic step.
   */
  async reconcileRead(k: SaleKeys): Promise<{ remaining: number | null; held: number; openIds: string[] }> {
    const [remaining, held, ...openIds] = (await this.call('surgeReconcileRead', k)) as [
      string,
      number,
      ...string[],
    ];
    return { remaining: remaining === '' ? null : Number(remaining), held: Number(held), openIds };
  }

  /**
   * Replace the hot state with PostgreSQL's (a rebuild, or a new sale;
   * docs/architecture.md#the-rebuild).
   */
  async writeHot(
    k: SaleKeys,
    a: {
      token: string;
      hot: Record<string, string | number>;
      users: Record<string, number>;
      orders: [string, string, string, number, string, string, number][];
      expireAtSec: number;
    },
  ): Promise<WriteHotReply> {
    const reply = await this.call(
      'surgeWriteHot',
      k,
      a.token,
      JSON.stringify(a.hot),
      JSON.stringify(a.users),
      JSON.stringify(a.orders),
      a.expireAtSec,
    );
    return asWriteHotReply(reply);
  }
}
