// The dashboard's options and the checks on them (no server code here: the CLI and the library
// load this without loading Fastify).
import { resolve } from 'node:path';
import { defaultRunsDir } from '../track/store.js';

export interface DashboardOptions {
  /** the run store (default KEEL_RUNS_DIR or ./keel-runs) */
  runsDir?: string;
  /** default 6006; 0 picks a free port */
  port?: number;
  /** default 127.0.0.1; an address other than loopback requires a token */
  host?: string;
  /** access token (at least 8 characters) the page asks for and the API requires */
  token?: string;
}

export interface Dashboard {
  /** the page's address (with ?token=… when a token is set, so that it opens without asking) */
  url: string;
  /** the address without the token */
  baseUrl: string;
  port: number;
  close(): Promise<void>;
}

/** A bad dashboard option (the CLI exits 2 with the message). */
export class UiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UiError';
  }
}

export const DEFAULT_PORT = 6006;
export const DEFAULT_HOST = '127.0.0.1';

/** Whether host names the loopback interface. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(h);
}

/** The host name of a Host header (without port or IPv6 brackets). */
export function hostOf(header: string | undefined): string {
  if (!header) return '';
  const m = /^\[([^\]]*)\]/.exec(header);
  return m ? m[1] : header.replace(/:\d*$/, '');
}

export function checkOptions(
  o: DashboardOptions,
): Required<Omit<DashboardOptions, 'token'>> & { token: string | null } {
  const host = o.host ?? DEFAULT_HOST;
  const port = o.port ?? DEFAULT_PORT;
  if (typeof host !== 'string' || host.trim() === '') throw new UiError('host must be a non-empty string');
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UiError(`port must be an integer from 0 to 65535, got ${port}`);
  const token = o.token ?? null;
  if (token !== null && (typeof token !== 'string' || token.length < 8 || /\s/.test(token)))
    throw new UiError('token must be at least 8 characters, without spaces');
  if (!isLoopback(host) && token === null)
    throw new UiError(
      `serving on ${host} would show the runs to the network: pass --token (or KEEL_UI_TOKEN), or use --host 127.0.0.1`,
    );
  return { runsDir: resolve(o.runsDir ?? defaultRunsDir()), host, port, token };
}
