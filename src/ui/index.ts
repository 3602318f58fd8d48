// The dashboard (`keel ui`): a local W&B-style page over the run store, and its read-only HTTP API.
// The server (Fastify) is loaded on first use, so importing Keel does not load it.
import type { Dashboard, DashboardOptions } from './options.js';

export {
  type Dashboard,
  type DashboardOptions,
  DEFAULT_HOST,
  DEFAULT_PORT,
  isLoopback,
  UiError,
} from './options.js';

/**
 * Serves the dashboard on `host:port` (default 127.0.0.1:6006) over `runsDir` until `close()`:
 * the page at `/` and the HTTP API of SPEC.md. Binding to anything but loopback needs a `token`.
 */
export async function serveDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const server = await import('./server.js');
  return server.serveDashboard(options);
}
