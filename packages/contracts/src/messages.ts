import { z } from 'zod';

/**
 * NATS names of one install. Every name starts with the namespace so several installs or test runs
 * share one NATS server (`SURGE_NAMESPACE`; docs/architecture.md#keys-subjects-and-tables). Stream
 * and consumer names cannot contain dots, subjects use them as separators.
 */
export function natsNames(namespace: string) {
  return {
    stream: `${namespace}_orders`,
    consumer: `${namespace}_order_worker`,
    subjectAll: `${namespace}.orders.>`,
    subjectOf: (saleId: string) => `${namespace}.orders.${saleId}`,
  };
}

/** Header names carried by every order message. */
export const MSG_HEADERS = {
  epoch: 'Surge-Epoch',
  correlationId: 'Surge-Correlation-Id',
  replayGen: 'Surge-Replay-Gen',
} as const;

/** The body of an order message (JSON). The worker validates it before anything else. */
export const orderMessageSchema = z.strictObject({
  orderId: z.string().min(1).max(64),
  saleId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/),
  userId: z.string().min(1).max(64),
  quantity: z.number().int().min(1).max(100),
  idempotencyKey: z.string().regex(/^[A-Za-z0-9_.:-]{8,128}$/),
  epoch: z.number().int().min(1),
  correlationId: z.string().min(1).max(128),
  reservedAt: z.string(),
});
export type OrderMessage = z.infer<typeof orderMessageSchema>;

export const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
