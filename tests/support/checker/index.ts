/**
 * The invariant checker of docs/architecture.md#invariants, without vitest: the tests,
 * `npm run bench` and fault runs share it. It reads what a sale left in PostgreSQL and Redis,
 * compares it with what the clients saw (sets of answers, or a history of every call), and
 * returns every broken rule with its evidence — a caller asserts the list is empty, or prints it.
 *
 *   await waitForQuiet({ ns, saleId, redisUrl, natsUrl });
 *   const { violations, facts } = await checkSale({ db, redis, ns, saleId, history: h.events });
 */
import { type Expectations, judge, type Verdict } from './judge.ts';
import { type Database, observeSale, type RedisSource } from './observe.ts';

export { type AdmissionCoverage, type AdmissionRules, judgeAdmissionHistory } from './admission.ts';
export {
  type Completion,
  History,
  type HistoryEvent,
  type Operation,
  type PlaceInput,
  pairOperations,
  placeCompletion,
  type RoomInput,
} from './history.ts';
export { type Expectations, type Facts, judge, type Verdict, type Violation } from './judge.ts';
export {
  type Database,
  type OrderRow,
  observeSale,
  type PrismaSql,
  type RedisReads,
  type RedisSource,
  type SaleObservation,
  type Sql,
  sqlOfPrisma,
} from './observe.ts';
export { waitForQuiet } from './quiet.ts';
export { judgeRoom, type RoomObservation } from './room.ts';

/** Observes the sale and judges it: I1–I6, I8 on a queued sale (I7: these after a fault and its recovery). */
export async function checkSale(
  o: { db: Database; redis: RedisSource; ns: string; saleId: string } & Expectations,
): Promise<Verdict> {
  const { db, redis, ns, saleId, ...expectations } = o;
  return judge(await observeSale({ db, redis, ns, saleId }), expectations);
}

/** One line per violation, for logs and reports. */
export function describeViolations(
  violations: readonly { invariant: string; check: string; message: string }[],
) {
  return violations.map((v) => `${v.invariant} ${v.check}: ${v.message}`);
}
