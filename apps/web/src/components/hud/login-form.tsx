import { KeyRound, LoaderCircle, LogIn } from 'lucide-react';
import { type FormEvent, useState } from 'react';
import { describeFailure, failureOf } from '../../lib/errors.ts';
import { trpcClient } from '../../lib/trpc.ts';

/** admin.login: the password becomes an HttpOnly admin cookie; nothing is stored here. */
export function LoginForm({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy || password === '') return;
    setBusy(true);
    setError(null);
    try {
      await trpcClient.admin.login.mutate({ password });
      setPassword('');
      onLoggedIn();
    } catch (err) {
      setError(describeFailure(failureOf(err)));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="panel login" data-testid="login-form" onSubmit={(e) => void submit(e)}>
      <h1 className="panel-title login-title">
        <KeyRound size={20} aria-hidden /> Operator access
      </h1>
      <p className="muted">Sign in to open the control center.</p>
      <label htmlFor="login-password" className="label">
        Admin password
      </label>
      <input
        id="login-password"
        data-testid="login-password"
        type="password"
        autoComplete="current-password"
        // biome-ignore lint/a11y/noAutofocus: the only field of a login screen
        autoFocus
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        aria-invalid={error !== null}
        aria-describedby={error ? 'login-error' : undefined}
      />
      {error ? (
        <p id="login-error" className="field-error" data-testid="login-error" role="alert">
          {error}
        </p>
      ) : null}
      <button type="submit" className="btn btn-primary" data-testid="login-submit" disabled={busy}>
        {busy ? <LoaderCircle size={18} className="spin" aria-hidden /> : <LogIn size={18} aria-hidden />}
        Sign in
      </button>
    </form>
  );
}
