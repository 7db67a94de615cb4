// The token is asked for once and checked against GET /api/events?limit=1 before it is kept.
import { useState } from 'preact/hooks';

type Check = 'ok' | 'refused' | 'unreachable';

async function check(token: string): Promise<Check> {
  try {
    const res = await fetch('/api/events?limit=1', {
      headers: { authorization: `Bearer ${token}` },
      cache: 'no-store',
      credentials: 'omit',
    });
    await res.body?.cancel();
    // The token is checked before anything else, so a 503 (store down) still means it was
    // accepted: the dashboard opens and shows the outage.
    if (res.status === 401) return 'refused';
    return res.ok || res.status === 503 ? 'ok' : 'unreachable';
  } catch {
    return 'unreachable';
  }
}

export function Login(props: { notice: string; onLogin(token: string, remember: boolean): void }) {
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return;
    setBusy(true);
    setError('');
    const result = await check(t);
    setBusy(false);
    if (result === 'ok') props.onLogin(t, remember);
    else if (result === 'refused') setError('This token was refused.');
    else setError('The gateway could not be reached.');
  };

  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Hookyard</h1>
        <p class="muted">
          Enter the API token (<code>api.token</code> in hookyard.yaml).
        </p>
        {props.notice && <p class="notice">{props.notice}</p>}
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          autoFocus
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <label class="check">
          <input
            type="checkbox"
            checked={remember}
            onChange={(e) => setRemember(e.currentTarget.checked)}
          />
          Remember on this computer
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
