import { ShieldAlert } from 'lucide-react';
import { useEffect, useRef } from 'react';

export interface ConfirmRequest {
  title: string;
  detail: string;
  confirmLabel: string;
  danger?: boolean;
}

interface Props {
  request: ConfirmRequest;
  onAnswer: (yes: boolean) => void;
}

/**
 * An in-page modal (the native <dialog>: focus is trapped inside, Esc cancels, focus returns
 * to the opener on close). Danger actions focus "Cancel" first, others "Confirm".
 */
export function ConfirmDialog({ request, onAnswer }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const yes = useRef<HTMLButtonElement>(null);
  const no = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    (request.danger ? no : yes).current?.focus();
    return () => {
      dialog.close();
      opener?.focus(); // back to the button that asked
    };
  }, [request]);

  return (
    <dialog
      ref={ref}
      className="confirm-dialog"
      data-testid="confirm-dialog"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-detail"
      onCancel={(e) => {
        e.preventDefault();
        onAnswer(false);
      }}
    >
      <h2 id="confirm-title" className="dialog-title">
        <ShieldAlert size={20} aria-hidden /> {request.title}
      </h2>
      <p id="confirm-detail" className="dialog-detail">
        {request.detail}
      </p>
      <div className="dialog-actions">
        <button
          ref={no}
          type="button"
          className="btn btn-ghost"
          data-testid="confirm-no"
          onClick={() => onAnswer(false)}
        >
          Cancel
        </button>
        <button
          ref={yes}
          type="button"
          className={`btn ${request.danger ? 'btn-danger' : 'btn-primary'}`}
          data-testid="confirm-yes"
          onClick={() => onAnswer(true)}
        >
          {request.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
