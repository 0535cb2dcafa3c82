import { useState } from 'preact/hooks';
import { api } from './api';

/** Off loopback the page needs a token (the same as gRPC clients use, or a viewer token); it becomes a cookie. */
export function Login({ onDone }: { onDone: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await api.login(token.trim());
      onDone();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <main>
      <form class="login" onSubmit={submit}>
        <h1>Sign in</h1>
        <p>This server is not on loopback: paste a client or viewer token from its tokens file.</p>
        <input type="password" autocomplete="current-password" placeholder="token" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        <button type="submit">Open the dashboard</button>
        {error && <p class="error">{error}</p>}
      </form>
    </main>
  );
}
