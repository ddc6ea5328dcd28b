import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import { describeFailure, failureOf } from '../../lib/errors.ts';
import { ActionResult, type Outcome } from './action-result.tsx';
import { ConfirmDialog, type ConfirmRequest } from './confirm-dialog.tsx';

/** An admin action: what the dialog asks, and the call, which returns the success text. */
export interface ControlAction extends ConfirmRequest {
  run: () => Promise<string>;
}

interface ControlApi {
  /** Asks for confirmation, then runs the action and shows its result. */
  request: (action: ControlAction) => void;
  running: boolean;
}

const ControlContext = createContext<ControlApi | null>(null);

export function useControl(): ControlApi {
  const api = useContext(ControlContext);
  if (!api) throw new Error('useControl outside <ControlProvider>');
  return api;
}

/** Every control action goes through here: confirm dialog → call → visible result. */
export function ControlProvider({ children, onNotAdmin }: { children: ReactNode; onNotAdmin: () => void }) {
  const [pending, setPending] = useState<ControlAction | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [running, setRunning] = useState(false);

  const answer = useCallback(
    async (yes: boolean) => {
      const action = pending;
      setPending(null);
      if (!yes || !action) return;
      setRunning(true);
      const title = action.title.replace(/\?$/, ''); // the question, now as a statement
      setOutcome({ kind: 'running', title, text: 'Working…', at: Date.now() });
      try {
        const text = await action.run();
        setOutcome({ kind: 'ok', title, text, at: Date.now() });
      } catch (err) {
        const f = failureOf(err);
        setOutcome({ kind: 'error', title, text: describeFailure(f), at: Date.now() });
        if (f.reason === 'NOT_ADMIN') onNotAdmin();
      } finally {
        setRunning(false);
      }
    },
    [pending, onNotAdmin],
  );

  const api = useMemo<ControlApi>(() => ({ request: setPending, running }), [running]);
  return (
    <ControlContext.Provider value={api}>
      {children}
      {pending ? <ConfirmDialog request={pending} onAnswer={(yes) => void answer(yes)} /> : null}
      <ActionResult outcome={outcome} onDismiss={() => setOutcome(null)} />
    </ControlContext.Provider>
  );
}
