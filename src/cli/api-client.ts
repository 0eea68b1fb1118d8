import type { Settings } from './settings.js';

/** Calls the running instance's HTTP API (the address and token from the settings). */
export interface ApiClient {
  readonly base: string;
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

export function apiClient(s: Settings): ApiClient {
  const host = s.http.host === '0.0.0.0' ? '127.0.0.1' : s.http.host === '::' ? '::1' : s.http.host;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${s.http.port}/`;
  const auth: Record<string, string> = s.apiToken ? { authorization: `Bearer ${s.apiToken}` } : {};
  const call = async <T>(path: string, init: RequestInit): Promise<T> => {
    const res = await fetch(base + path, { ...init, signal: AbortSignal.timeout(5000) });
    if (res.status === 401) throw new Error('HTTP 401: this instance needs its API token (--api-token or MARBLE_API_TOKEN)');
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
    return (await res.json()) as T;
  };
  return {
    base,
    get: (path) => call(path, { headers: auth }),
    post: (path, body) => call(path, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  };
}
