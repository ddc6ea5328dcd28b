import { CalendarPlus } from 'lucide-react';
import { type FormEvent, useState } from 'react';
import { formatCount, formatDateTime, formatPrice } from '../../lib/format.ts';
import { EMPTY_DRAFT, type SaleDraft, toCreateInput } from '../../lib/sale-draft.ts';
import { trpcClient } from '../../lib/trpc.ts';
import { useControl } from './control.tsx';

type Errors = Partial<Record<keyof SaleDraft, string>>;

function Field(props: {
  name: keyof SaleDraft;
  testId: string;
  label: string;
  draft: SaleDraft;
  errors: Errors;
  set: (k: keyof SaleDraft, v: string) => void;
  type?: string;
  step?: string;
  placeholder?: string;
  disabled?: boolean;
}) {
  const error = props.errors[props.name];
  return (
    <div className="field">
      <label htmlFor={props.testId} className="label">
        {props.label}
      </label>
      <input
        id={props.testId}
        data-testid={props.testId}
        type={props.type ?? 'text'}
        inputMode={props.type === 'number' ? 'decimal' : undefined}
        step={props.step}
        placeholder={props.placeholder}
        disabled={props.disabled}
        value={String(props.draft[props.name])}
        onChange={(e) => props.set(props.name, e.target.value)}
        aria-invalid={error !== undefined}
        aria-describedby={error ? `${props.testId}-error` : undefined}
      />
      {error ? (
        <span id={`${props.testId}-error`} className="field-error">
          {error}
        </span>
      ) : null}
    </div>
  );
}

/** admin.createSale: now or scheduled; validated here with the API's limits, confirmed, then sent. */
export function CreateSaleForm() {
  const { request } = useControl();
  const [draft, setDraft] = useState<SaleDraft>(EMPTY_DRAFT);
  const [errors, setErrors] = useState<Errors>({});
  const set = (k: keyof SaleDraft, v: string) => setDraft((d) => ({ ...d, [k]: v }));
  const common = { draft, errors, set };

  function submit(e: FormEvent) {
    e.preventDefault();
    const parsed = toCreateInput(draft);
    if (!parsed.ok) return setErrors(parsed.errors);
    setErrors({});
    const i = parsed.input;
    request({
      title: `Create sale ${i.id}?`,
      detail: `${i.name} · ${formatPrice(i.priceCents)} · ${formatCount(i.totalStock)} units · max ${i.perUserLimit} per shopper · starts ${i.startsAt ? formatDateTime(i.startsAt) : 'now'}${i.endsAt ? ` · ends ${formatDateTime(i.endsAt)}` : ' · runs 24 h'}${i.queue ? ` · waiting room, ${formatCount(i.queue.admitPerSecond)} admitted/s` : ''}`,
      confirmLabel: 'Create sale',
      run: async () => {
        const sale = await trpcClient.admin.createSale.mutate(i);
        setDraft((d) => ({ ...d, id: '', name: '' }));
        return `Created ${sale.id} (${sale.state}), ${formatCount(sale.remaining)} units`;
      },
    });
  }

  return (
    <section className="panel" aria-labelledby="create-title">
      <h2 id="create-title" className="panel-title">
        <CalendarPlus size={18} aria-hidden /> Create a sale
      </h2>
      <form className="create-form" data-testid="create-sale-form" onSubmit={submit} noValidate>
        <Field {...common} name="id" testId="create-id" label="Sale id" placeholder="spring-drop" />
        <Field
          {...common}
          name="name"
          testId="create-name"
          label="Product name"
          placeholder="Neon Runner sneakers"
        />
        <Field
          {...common}
          name="price"
          testId="create-price"
          label="Price (USD)"
          type="number"
          step="0.01"
          placeholder="129.00"
        />
        <Field {...common} name="stock" testId="create-stock" label="Total stock" type="number" step="1" />
        <Field
          {...common}
          name="limit"
          testId="create-limit"
          label="Per-shopper limit"
          type="number"
          step="1"
        />
        <div className="field field-check">
          <input
            id="create-start-now"
            data-testid="create-start-now"
            type="checkbox"
            checked={draft.startNow}
            onChange={(e) => setDraft((d) => ({ ...d, startNow: e.target.checked }))}
          />
          <label htmlFor="create-start-now">Start now</label>
        </div>
        <Field
          {...common}
          name="startsAt"
          testId="create-starts-at"
          label="Starts at"
          type="datetime-local"
          disabled={draft.startNow}
        />
        <Field
          {...common}
          name="endsAt"
          testId="create-ends-at"
          label="Ends at (optional)"
          type="datetime-local"
        />
        <Field
          {...common}
          name="admitRate"
          testId="create-admit-rate"
          label="Waiting room: admissions/s (optional)"
          type="number"
          step="1"
          placeholder="none"
        />
        <button type="submit" className="btn btn-primary create-submit" data-testid="create-submit">
          <CalendarPlus size={16} aria-hidden /> Create sale
        </button>
      </form>
    </section>
  );
}
