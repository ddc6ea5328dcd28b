import { z } from 'zod';

/**
 * Input limits (docs/architecture.md#input-limits). Every object is strict: unknown keys are
 * rejected.
 */
export const saleIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a sale id is 1–64 of a-z 0-9 -');
// Opaque to clients, but printable ASCII (PostgreSQL text cannot even hold NUL).
export const orderIdSchema = z.string().regex(/^[\x21-\x7e]{1,64}$/, 'an order id');
export const idempotencyKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{8,128}$/, 'an idempotency key is 8–128 of A-Z a-z 0-9 _ . : -');
export const quantitySchema = z.number().int().min(1).max(100);
// Dates a sale can use: PostgreSQL and JavaScript both represent them, and a default end
// (start + 24 h) stays representable.
const MIN_DATE = Date.parse('2000-01-01T00:00:00Z');
const MAX_DATE = Date.parse('2999-12-31T00:00:00Z');
const isoDate = z.iso
  .datetime({ offset: true })
  .refine((v) => Date.parse(v) >= MIN_DATE && Date.parse(v) <= MAX_DATE, 'a date between 2000 and 2999');
/** Text shown to people: no control characters (PostgreSQL text cannot even store NUL). */
const displayText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters');

export const emptyInput = z.strictObject({}).optional();

export const saleGetInput = z.strictObject({ saleId: saleIdSchema });

export const orderPlaceInput = z.strictObject({
  saleId: saleIdSchema,
  quantity: quantitySchema,
  idempotencyKey: idempotencyKeySchema,
});
export type OrderPlaceInput = z.infer<typeof orderPlaceInput>;

export const orderGetInput = z.strictObject({ orderId: orderIdSchema });
export const orderMineInput = z.strictObject({ saleId: saleIdSchema.optional() }).optional();

export const adminLoginInput = z.strictObject({ password: z.string().min(1).max(256) });

export const createSaleInput = z
  .strictObject({
    id: saleIdSchema,
    name: displayText(120),
    priceCents: z.number().int().min(0).max(100_000_000),
    totalStock: z.number().int().min(0).max(10_000_000),
    perUserLimit: z.number().int().min(1).max(100),
    startsAt: isoDate.optional(),
    endsAt: isoDate.optional(),
  })
  .refine((s) => !s.startsAt || !s.endsAt || Date.parse(s.endsAt) > Date.parse(s.startsAt), {
    path: ['endsAt'],
    message: 'endsAt must be after startsAt',
  });
export type CreateSaleInput = z.infer<typeof createSaleInput>;

export const saleRefInput = z.strictObject({ saleId: saleIdSchema });
export const restockInput = z.strictObject({
  saleId: saleIdSchema,
  quantity: z.number().int().min(1).max(1_000_000),
});
export const flushCacheInput = z.strictObject({ saleId: saleIdSchema.optional() }).optional();
export const dlqIdsInput = z.strictObject({ ids: z.array(z.string().min(1).max(64)).min(1).max(100) });

/** Subscriptions carry `lastEventId` so a reconnecting client resumes where it stopped. */
// Redis stream ids (`<ms>-<seq>`), frame times, or `<orderId>:<STATUS>`.
const lastEventId = z
  .string()
  .max(100)
  .regex(/^[0-9]{1,20}(-[0-9]{1,20})?$|^[A-Za-z0-9-]{1,64}:[A-Z_]{1,20}$/, 'an event id this server sent')
  .nullish();
export const liveSaleInput = z.strictObject({ saleId: saleIdSchema, lastEventId });
export const liveOrderInput = z.strictObject({ orderId: orderIdSchema, lastEventId });
export const liveHudInput = z.strictObject({ lastEventId }).optional();
