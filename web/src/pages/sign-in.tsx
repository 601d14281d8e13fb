import { useState } from 'preact/hooks';
import { verifyToken } from '../api/live.ts';
import { signIn } from '../auth.ts';
import { Field } from '../components/ui.tsx';

export function SignIn() {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (await verifyToken(token.trim())) signIn(token.trim());
      else setError('Wrong admin token');
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" class="sign-in">
      <form class="card" onSubmit={submit}>
        <h1>keyrelay</h1>
        <p>Sign in with the gateway's admin token. It is kept in this tab only.</p>
        <Field label="Admin token" error={error}>
          {(id, describedBy) => (
            <input
              id={id}
              type="password"
              autoComplete="current-password"
              required
              value={token}
              aria-invalid={error ? true : undefined}
              aria-describedby={describedBy}
              onInput={(e) => setToken(e.currentTarget.value)}
            />
          )}
        </Field>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
