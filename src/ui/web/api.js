// The page's access to the HTTP API: JSON GETs with the access token when the server asks for one
// (401), which the page then asks the user for (or takes once from ?token= in the address).
import { el } from './util.js';

const TOKEN_KEY = 'keel.token';
let tokenPrompt = null;

/** Takes ?token=... from the address into session storage and removes it from the address bar. */
export function adoptUrlToken() {
  const url = new URL(location.href);
  const t = url.searchParams.get('token');
  if (t === null) return;
  sessionStorage.setItem(TOKEN_KEY, t);
  url.searchParams.delete('token');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** GET /api/...: the parsed JSON, or an ApiError with the server's { error } message. */
export async function api(path, params) {
  const qs = params ? `?${toQuery(params)}` : '';
  for (;;) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const res = await fetch(`/api/${path}${qs}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    if (res.status === 401) {
      const body = await res.json().catch(() => ({}));
      await askToken(token ? body.error || 'wrong access token' : null);
      continue;
    }
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, body?.error ?? `HTTP ${res.status}`);
    return body;
  }
}

/** Query string of an object; arrays repeat their key. */
function toQuery(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    for (const x of Array.isArray(v) ? v : [v]) q.append(k, String(x));
  }
  return q.toString();
}

/** Shows the token dialog (once, however many requests wait for it); resolves when a token is entered. */
function askToken(error) {
  if (tokenPrompt) return tokenPrompt;
  tokenPrompt = new Promise((resolve) => {
    const input = el('input', {
      type: 'password',
      id: 'token-input',
      placeholder: 'access token',
      autocomplete: 'current-password',
      required: true,
    });
    const form = el(
      'form',
      { class: 'token-card', id: 'token-form' },
      el('h2', {}, 'Access token'),
      el(
        'p',
        {},
        'This dashboard is protected: enter the access token it was started with (keel ui --token …).',
      ),
      error ? el('p', { class: 'token-error' }, error) : null,
      input,
      el('button', { type: 'submit', class: 'primary' }, 'Open dashboard'),
    );
    const overlay = el('div', { class: 'overlay' }, form);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      overlay.remove();
      tokenPrompt = null;
      resolve();
    });
    document.body.append(overlay);
    input.focus();
  });
  return tokenPrompt;
}

/** Runs `fn` over items with at most `limit` in flight; results in order. */
export async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
