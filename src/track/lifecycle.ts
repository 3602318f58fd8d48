// Process-level hooks for live runs: at exit every unfinished run is flushed and closed
// (finished, or failed with the exit code); an uncaught error's stack goes to the run's log; a
// SIGINT/SIGTERM/SIGHUP that nobody else handles closes the runs as failed (128 + signal) and then
// kills the process as the signal would have. A SIGKILL leaves the run 'running' with a stale
// heartbeat and a dead pid: readers show it as 'crashed'.
import { constants } from 'node:os';

export interface LiveRun {
  end(exitCode: number): void;
  appendLog(stream: 'stdout' | 'stderr', line: string): void;
}

const live = new Set<LiveRun>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onExit(code: number): void {
  const exitCode = typeof process.exitCode === 'number' ? process.exitCode : code;
  for (const r of [...live]) r.end(exitCode);
}

function onUncaught(err: unknown): void {
  const text = err instanceof Error ? (err.stack ?? String(err)) : `Uncaught ${String(err)}`;
  for (const r of live) for (const line of text.split('\n')) r.appendLog('stderr', line);
}

function onSignal(signal: NodeJS.Signals): void {
  // someone else handles it: they decide whether the process ends ('exit' then closes the runs)
  if (process.listenerCount(signal) > 1) return;
  for (const r of [...live]) r.end(128 + (constants.signals[signal] ?? 0));
  uninstall();
  process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', onExit);
  process.on('uncaughtExceptionMonitor', onUncaught);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.off('exit', onExit);
  process.off('uncaughtExceptionMonitor', onUncaught);
  for (const s of SIGNALS) process.off(s, onSignal);
}

export function register(run: LiveRun): void {
  if (live.size === 0) install();
  live.add(run);
}

export function unregister(run: LiveRun): void {
  if (live.delete(run) && live.size === 0) uninstall();
}
