import type { OrderStatus } from '@surge/contracts';
import { CircleCheck, CircleX, CreditCard, LoaderCircle } from 'lucide-react';
import type { HTMLAttributes } from 'react';

const ICONS = {
  PENDING: LoaderCircle,
  CONFIRMED: CircleCheck,
  FAILED_PAYMENT: CreditCard,
  FAILED: CircleX,
} as const;

/** An order status as a coloured chip; the text is the status code itself. */
export function StatusBadge({
  status,
  ...rest
}: { status: OrderStatus } & Omit<HTMLAttributes<HTMLSpanElement>, 'children'>) {
  const Icon = ICONS[status];
  return (
    <span className="status-badge" data-status={status}>
      <Icon size={14} aria-hidden className={status === 'PENDING' ? 'spin' : undefined} />
      <span {...rest}>{status}</span>
    </span>
  );
}
