import type { JsMsg } from '@nats-io/jetstream';
import { type DeadLetterReason, MSG_HEADERS, type OrderMessage, orderMessageSchema } from '@surge/contracts';

/**
 * A delivery, read once: the validated order, or why it can never be processed (a poison
 * message, dead-lettered at once) with whatever ids could still be recovered so its
 * reservation, if any, can be settled.
 */
export type Delivery =
  | { kind: 'order'; msg: JsMsg; order: OrderMessage; replayGen: number; raw: string }
  | {
      kind: 'poison';
      msg: JsMsg;
      reason: DeadLetterReason;
      raw: string;
      orderId?: string;
      saleId?: string;
      correlationId?: string;
    };

export function readDelivery(msg: JsMsg): Delivery {
  const raw = msg.string();
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { kind: 'poison', msg, raw, reason: 'UNPARSEABLE: not JSON' };
  }
  const ids = recoverIds(body);
  const parsed = orderMessageSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      kind: 'poison',
      msg,
      raw,
      reason: `INVALID: ${issue ? `${issue.path.join('.') || 'body'} ${issue.message}` : 'schema'}`,
      ...ids,
    };
  }
  const headerEpoch = Number(msg.headers?.get(MSG_HEADERS.epoch) ?? parsed.data.epoch);
  if (headerEpoch !== parsed.data.epoch)
    return { kind: 'poison', msg, raw, reason: 'INVALID: epoch header disagrees', ...ids };
  if (!msg.subject.endsWith(`.orders.${parsed.data.saleId}`)) {
    return { kind: 'poison', msg, raw, reason: 'INVALID: subject does not name the sale', ...ids };
  }
  const replayGen = Number(msg.headers?.get(MSG_HEADERS.replayGen) || 0);
  return {
    kind: 'order',
    msg,
    order: parsed.data,
    replayGen: Number.isInteger(replayGen) ? replayGen : 0,
    raw,
  };
}

function recoverIds(body: unknown): { orderId?: string; saleId?: string; correlationId?: string } {
  if (!body || typeof body !== 'object') return {};
  const b = body as Record<string, unknown>;
  const str = (v: unknown, max: number) =>
    typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
  const saleId = str(b.saleId, 64);
  return {
    orderId: str(b.orderId, 64),
    saleId: saleId && /^[a-z0-9][a-z0-9-]{0,63}$/.test(saleId) ? saleId : undefined,
    correlationId: str(b.correlationId, 128),
  };
}

export function messageKey(msg: JsMsg): string {
  return `${msg.info.stream}:${msg.seq}`;
}
