import { Minus, Plus } from 'lucide-react';

interface Props {
  text: string;
  max: number;
  disabled: boolean;
  onText: (text: string) => void;
}

/** A whole number 1..max, or null while the field holds something else. */
export function parseQuantity(text: string, max: number): number | null {
  const n = Number(text);
  return text.trim() !== '' && Number.isInteger(n) && n >= 1 && n <= max ? n : null;
}

/** Quantity as a number field with −/+ steppers. */
export function QuantityField({ text, max, disabled, onText }: Props) {
  const value = parseQuantity(text, max);
  const step = (d: number) => onText(String(Math.min(max, Math.max(1, (value ?? 1) + d))));
  return (
    <div className="quantity">
      <label htmlFor="quantity" className="label">
        Quantity <span className="hint">max {max} per customer</span>
      </label>
      <div className="stepper">
        <button
          type="button"
          className="icon-btn"
          aria-label="One less"
          disabled={disabled || (value ?? 1) <= 1}
          onClick={() => step(-1)}
        >
          <Minus size={16} aria-hidden />
        </button>
        <input
          id="quantity"
          data-testid="quantity-input"
          className="num"
          type="number"
          inputMode="numeric"
          min={1}
          max={max}
          step={1}
          value={text}
          disabled={disabled}
          aria-invalid={value === null}
          aria-describedby={value === null ? 'quantity-error' : undefined}
          onChange={(e) => onText(e.target.value)}
        />
        <button
          type="button"
          className="icon-btn"
          aria-label="One more"
          disabled={disabled || (value ?? max) >= max}
          onClick={() => step(1)}
        >
          <Plus size={16} aria-hidden />
        </button>
      </div>
      {value === null ? (
        <p id="quantity-error" className="field-error" role="alert">
          Choose a whole number from 1 to {max}.
        </p>
      ) : null}
    </div>
  );
}
