export const SALE_STATES = ['live', 'scheduled', 'paused', 'soldout', 'ended', 'rebuilding'] as const;
export type SaleState = (typeof SALE_STATES)[number];

export interface Sale {
  id: string;
  name: string;
  priceCents: number;
  totalStock: number;
  remaining: number;
  perUserLimit: number;
  state: SaleState;
  startsAt: string;
  endsAt: string;
  serverTime: string;
}

/** The order of precedence of a sale's state (docs/architecture.md#reading-sales-and-orders). */
export function saleState(s: {
  nowMs: number;
  startsMs: number;
  endsMs: number;
  rebuilding: boolean;
  paused: boolean;
  remaining: number;
}): SaleState {
  if (s.nowMs >= s.endsMs) return 'ended';
  if (s.rebuilding) return 'rebuilding';
  if (s.paused) return 'paused';
  if (s.nowMs < s.startsMs) return 'scheduled';
  if (s.remaining <= 0) return 'soldout';
  return 'live';
}

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'FAILED_PAYMENT', 'FAILED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export function isOrderStatus(value: unknown): value is OrderStatus {
  return (ORDER_STATUSES as readonly unknown[]).includes(value);
}

export interface PlaceOrderResult {
  orderId: string;
  status: OrderStatus;
  correlationId: string;
  replayed: boolean;
}

export interface OrderView {
  orderId: string;
  saleId: string;
  quantity: number;
  status: OrderStatus;
  failureReason?: string;
  createdAt: string;
}
