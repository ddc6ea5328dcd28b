import type { CreateSaleInput } from '@surge/contracts';

/** The create-sale form as typed: strings, as inputs give them. */
export interface SaleDraft {
  id: string;
  name: string;
  price: string;
  stock: string;
  limit: string;
  startNow: boolean;
  startsAt: string;
  endsAt: string;
}

export const EMPTY_DRAFT: SaleDraft = {
  id: '',
  name: '',
  price: '',
  stock: '100',
  limit: '2',
  startNow: true,
  startsAt: '',
  endsAt: '',
};

const int = (s: string) => (s.trim() === '' ? Number.NaN : Number(s));
/** `datetime-local` values are local wall-clock time; the API wants ISO instants. */
const instant = (s: string) => {
  const ms = new Date(s).getTime();
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
};

/**
 * The API input, or the problems per field (the same limits as docs/architecture.md#input-limits).
 */
export function toCreateInput(
  d: SaleDraft,
): { ok: true; input: CreateSaleInput } | { ok: false; errors: Partial<Record<keyof SaleDraft, string>> } {
  const errors: Partial<Record<keyof SaleDraft, string>> = {};
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(d.id)) errors.id = 'lowercase letters, digits and -, up to 64';
  const name = d.name.trim();
  if (name.length < 1 || name.length > 120) errors.name = '1–120 characters';
  const price = Number(d.price);
  const priceCents = Math.round(price * 100);
  if (d.price.trim() === '' || !Number.isFinite(price) || priceCents < 0 || priceCents > 100_000_000)
    errors.price = 'a price from 0 to 1,000,000';
  const totalStock = int(d.stock);
  if (!Number.isInteger(totalStock) || totalStock < 0 || totalStock > 10_000_000)
    errors.stock = '0–10,000,000';
  const perUserLimit = int(d.limit);
  if (!Number.isInteger(perUserLimit) || perUserLimit < 1 || perUserLimit > 100) errors.limit = '1–100';
  const startsAt = d.startNow ? undefined : instant(d.startsAt);
  if (startsAt === null) errors.startsAt = 'pick a start, or start now';
  const endsAt = d.endsAt ? instant(d.endsAt) : undefined;
  if (endsAt === null) errors.endsAt = 'not a date';
  const startMs = startsAt ? Date.parse(startsAt) : Date.now();
  if (endsAt && Date.parse(endsAt) <= startMs) errors.endsAt = 'must be after the start';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const input: CreateSaleInput = { id: d.id, name, priceCents, totalStock, perUserLimit };
  if (startsAt) input.startsAt = startsAt;
  if (endsAt) input.endsAt = endsAt;
  return { ok: true, input };
}
