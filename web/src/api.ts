import type { ActionBar, ActionDetail, BuildDetail, BuildSummary, NowSnapshot } from '../../src/dashboard/dashboard-api';

export type { ActionBar, ActionDetail, BuildDetail, BuildSummary, NowSnapshot };

/** Thrown for 401/403 so the page can ask for a token. */
export class AuthRequired extends Error {}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401 || res.status === 403) throw new AuthRequired(await res.text());
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The path of a build's page; a build without an invocation id is "_". */
export const buildPath = (invocationId: string) => `/builds/${encodeURIComponent(invocationId || '_')}`;
const apiBuild = (invocationId: string) => `/api/builds/${encodeURIComponent(invocationId || '_')}`;

export const api = {
  builds: () => getJson<BuildSummary[]>('/api/builds'),
  build: (id: string) => getJson<BuildDetail>(apiBuild(id)),
  action: (id: string, actionId: string) => getJson<ActionDetail>(`${apiBuild(id)}/actions/${encodeURIComponent(actionId)}`),
  now: () => getJson<NowSnapshot>('/api/now'),
  /** Exchanges a token for a session cookie (needed only off loopback). */
  login: async (token: string) => {
    const res = await fetch('/api/session', { method: 'POST', credentials: 'same-origin', headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(await res.text());
  },
};

/**
 * Live updates of the Now view: server-sent events, falling back to polling every 2 s when the stream fails (e.g. a
 * proxy that buffers). Returns the stop function.
 */
export function watchNow(onSnapshot: (s: NowSnapshot) => void, onError: (e: Error) => void): () => void {
  let stopped = false;
  let timer: number | undefined;
  const poll = async () => {
    if (stopped) return;
    try {
      onSnapshot(await api.now());
    } catch (e) {
      onError(e as Error);
    }
    timer = window.setTimeout(poll, 2000);
  };
  const source = new EventSource('/api/now/stream');
  source.onmessage = (m) => onSnapshot(JSON.parse(m.data) as NowSnapshot);
  source.onerror = () => {
    if (source.readyState !== EventSource.CLOSED) return; // It reconnects by itself.
    void poll();
  };
  return () => {
    stopped = true;
    source.close();
    window.clearTimeout(timer);
  };
}
