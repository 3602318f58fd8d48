// What a run records about where it ran: command line, host, Node, backend and device, git commit.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { arch, cpus, hostname, platform, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ENGINE } from '../tensor/engine.js';

export interface RunEnv {
  command: string;
  argv: string[];
  cwd: string;
  host: string;
  pid: number;
  node: string;
  platform: string;
  cpu: string | null;
  cpuCount: number;
  memoryBytes: number;
  backend: string | null;
  device: string | null;
  git: { commit: string; branch: string | null; root: string } | null;
}

/** A shell-like rendering of argv (arguments with spaces or quotes are single-quoted). */
export function commandLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The active backend's name and device, or nulls when none can be made. */
export function backendInfo(): { backend: string | null; device: string | null } {
  try {
    const b = ENGINE.backend;
    return { backend: b.name, device: b.device ?? null };
  } catch {
    return { backend: null, device: null };
  }
}

function readTrim(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** A ref's commit from loose refs or packed-refs. */
function resolveRef(dirs: string[], ref: string): string | null {
  for (const d of dirs) {
    const loose = readTrim(join(d, ref));
    if (loose && /^[0-9a-f]{40,64}$/.test(loose)) return loose;
    const packed = readTrim(join(d, 'packed-refs'));
    const line = packed?.split('\n').find((l) => l.endsWith(` ${ref}`));
    if (line) return line.split(' ')[0];
  }
  return null;
}

/** The commit checked out in the repository containing dir (read from .git, without running git). */
export function gitInfo(dir = process.cwd()): RunEnv['git'] {
  let at = resolve(dir);
  for (;;) {
    const dotGit = join(at, '.git');
    if (existsSync(dotGit)) {
      let gitDir = dotGit;
      if (statSync(dotGit).isFile()) {
        // worktrees and submodules: ".git" is a file "gitdir: <path>"
        const m = /^gitdir:\s*(.+)$/m.exec(readTrim(dotGit) ?? '');
        if (!m) return null;
        gitDir = resolve(at, m[1]);
      }
      const common = readTrim(join(gitDir, 'commondir'));
      const dirs = common ? [gitDir, resolve(gitDir, common)] : [gitDir];
      const head = readTrim(join(gitDir, 'HEAD'));
      if (!head) return null;
      const ref = /^ref:\s*(.+)$/.exec(head)?.[1];
      const commit = ref ? resolveRef(dirs, ref) : head;
      if (!commit || !/^[0-9a-f]{40,64}$/.test(commit)) return null;
      return { commit, branch: ref?.replace(/^refs\/heads\//, '') ?? null, root: at };
    }
    const up = dirname(at);
    if (up === at) return null;
    at = up;
  }
}

export function collectEnv(): RunEnv {
  const argv = [process.execPath, ...process.argv.slice(1)];
  const c = cpus();
  return {
    command: commandLine(argv),
    argv,
    cwd: process.cwd(),
    host: hostname(),
    pid: process.pid,
    node: process.version,
    platform: `${platform()}-${arch()}`,
    cpu: c[0]?.model.trim() ?? null,
    cpuCount: c.length,
    memoryBytes: totalmem(),
    ...backendInfo(),
    git: gitInfo(),
  };
}
