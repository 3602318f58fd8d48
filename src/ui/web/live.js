// The runs list, shared by the views and polled so that running runs update without reloading:
// every 3 s while a run is running, every 10 s otherwise, and not while the tab is hidden.
import { api } from './api.js';

let runs = null;
let info = null;
let timer = null;
let inFlight = null;
const subs = new Set();

export const currentRuns = () => runs;
export const storeInfo = () => info;
export const anyRunning = () => (runs ?? []).some((r) => r.status === 'running');

/** Fetches the runs now and tells the subscribers. */
export function loadRuns() {
  inFlight ??= api('runs')
    .then((list) => {
      runs = list;
      for (const fn of subs) fn(list);
      return list;
    })
    .finally(() => {
      inFlight = null;
    });
  return inFlight;
}

export async function loadInfo() {
  info = await api('info');
  return info;
}

/** fn(runs) after every refresh; returns the unsubscribe function. */
export function subscribeRuns(fn) {
  subs.add(fn);
  return () => subs.delete(fn);
}

/** Polls the runs list (and calls tick, for views that refresh more, each time). */
export function startPolling(tick = () => {}) {
  const schedule = () => {
    timer = setTimeout(
      async () => {
        if (!document.hidden) {
          try {
            await loadRuns();
            await tick();
          } catch {
            // the next round retries (the server may be restarting)
          }
        }
        schedule();
      },
      anyRunning() ? 3000 : 10_000,
    );
  };
  clearTimeout(timer);
  schedule();
}
