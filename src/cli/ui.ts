// `keel ui`: serves the dashboard (runs table, run pages, comparisons) over a run store until Ctrl-C.
import { type Command, InvalidArgumentError } from 'commander';
import { defaultRunsDir } from '../track/index.js';
import { type Dashboard, DEFAULT_HOST, DEFAULT_PORT, serveDashboard, UiError } from '../ui/index.js';

export interface UiIO {
  out(text: string): void;
  /** called once the server listens (tests close it; the CLI waits for a signal) */
  started?(dashboard: Dashboard): void;
}

function portOption(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n > 65535)
    throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return n;
}

/** Registers `keel ui`. */
export function registerUi(program: Command, io: UiIO = { out: (s) => void process.stdout.write(s) }): void {
  program
    .command('ui')
    .description(
      'serve the dashboard: runs table, run pages (charts, system, logs, precision) and comparisons',
    )
    .option('--runs-dir <dir>', 'the run store (default: KEEL_RUNS_DIR or ./keel-runs)')
    .option('--port <port>', 'port to listen on (0: a free one)', portOption, DEFAULT_PORT)
    .option('--host <address>', 'address to listen on; anything but loopback requires --token', DEFAULT_HOST)
    .option('--token <token>', 'access token the page asks for (default: KEEL_UI_TOKEN)')
    .action(async function (
      this: Command,
      o: { runsDir?: string; port: number; host: string; token?: string },
    ) {
      const runsDir = o.runsDir ?? defaultRunsDir();
      let dashboard: Dashboard;
      try {
        dashboard = await serveDashboard({
          runsDir,
          port: o.port,
          host: o.host,
          token: o.token ?? (process.env.KEEL_UI_TOKEN || undefined),
        });
      } catch (e) {
        if (e instanceof UiError) this.error(`error: ${e.message}`, { exitCode: 2, code: 'keel.ui' });
        throw e;
      }
      io.out(`Keel dashboard on ${dashboard.url}\n  runs: ${runsDir}\n  Ctrl-C to stop\n`);
      if (io.started) return io.started(dashboard);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void dashboard.close().then(done, done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
