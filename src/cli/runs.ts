// `keel runs list|show|compare|export`: the tracked runs of a store, as tables or JSON.
import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import {
  DEFAULT_MAX_POINTS,
  defaultRunsDir,
  openReader,
  type RunInfo,
  type RunStatus,
  type RunSummary,
  type RunsReader,
  TrackError,
} from '../track/index.js';

export interface RunsIO {
  out(text: string): void;
}

const STATUSES: RunStatus[] = ['running', 'finished', 'failed', 'crashed'];
/** Summary keys shown first in tables, when present. */
const HEADLINE = ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'training_time', 'ms_per_step'];

function intOption(min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min)
      throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function fmt(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(5)));
  }
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function duration(sec: number): string {
  if (sec < 60) return `${sec.toFixed(1)}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m${String(Math.round(sec % 60)).padStart(2, '0')}s`;
  return `${Math.floor(sec / 3600)}h${String(Math.floor((sec % 3600) / 60)).padStart(2, '0')}m`;
}

const when = (isoTime: string) => isoTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

function runDuration(r: RunSummary): number {
  const end = r.endedAt ? Date.parse(r.endedAt) : Date.now();
  return Math.max(0, end - Date.parse(r.startedAt)) / 1000;
}

/** Left-aligned columns separated by two spaces. */
function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n')}\n`;
}

function headline(summary: Record<string, unknown>, count: number): string {
  const keys = [
    ...HEADLINE.filter((k) => k in summary),
    ...Object.keys(summary)
      .filter((k) => !HEADLINE.includes(k) && !k.includes('/'))
      .sort(),
  ];
  return keys
    .filter((k) => typeof summary[k] === 'number')
    .slice(0, count)
    .map((k) => `${k}=${fmt(summary[k])}`)
    .join(' ');
}

function listText(runs: RunSummary[], dir: string): string {
  if (runs.length === 0) return `no runs in ${dir}\n`;
  const rows = [['ID', 'NAME', 'PROJECT', 'GROUP', 'STATUS', 'STARTED', 'DURATION', 'SUMMARY']];
  for (const r of runs)
    rows.push([
      r.id,
      r.name,
      r.project,
      r.group ?? '-',
      r.status,
      when(r.startedAt),
      duration(runDuration(r)),
      headline(r.summary, 4),
    ]);
  return table(rows);
}

function keyValues(o: Record<string, unknown>, indent = '  '): string {
  const keys = Object.keys(o);
  if (keys.length === 0) return `${indent}(none)\n`;
  return table(keys.map((k) => [`${indent}${k}`, fmt(o[k])]));
}

function showText(info: RunInfo, logTail: string[], totalLines: number): string {
  const e = info.env;
  const lines = [
    `Run ${info.id}  ${info.name}  (project ${info.project}${info.group ? `, group ${info.group}` : ''}${info.tags.length ? `, tags ${info.tags.join(', ')}` : ''})`,
    `  status    ${info.status}${info.exitCode !== null ? ` (exit code ${info.exitCode})` : ''}`,
    `  started   ${when(info.startedAt)}${info.endedAt ? `, ended ${when(info.endedAt)}` : ''} (${duration(info.durationSec)})`,
  ];
  if (e.command) lines.push(`  command   ${e.command}`);
  if (e.host) lines.push(`  host      ${e.host} (${e.platform}, Node ${e.node}, pid ${e.pid})`);
  if (e.backend) lines.push(`  backend   ${e.backend}${e.device ? `: ${e.device}` : ''}`);
  if (e.git)
    lines.push(`  git       ${e.git.commit.slice(0, 12)}${e.git.branch ? ` (${e.git.branch})` : ''}`);
  let text = `${lines.join('\n')}\nConfig\n${keyValues(info.config)}Summary\n${keyValues(info.summary)}`;
  text += `Metrics (${info.metricKeys.length})\n`;
  text += info.metricKeys.length
    ? table(
        info.metricKeys.map((k) => [
          `  ${k.key}`,
          `${k.count} point${k.count === 1 ? '' : 's'}`,
          k.count ? `steps ${k.firstStep}..${k.lastStep}` : '',
        ]),
      )
    : '  (none)\n';
  text += `System metrics (${info.systemKeys.length})\n`;
  text += info.systemKeys.length
    ? table(info.systemKeys.map((k) => [`  ${k.key}`, `${k.count} sample${k.count === 1 ? '' : 's'}`]))
    : '  (none)\n';
  text += `Log (${logTail.length < totalLines ? `last ${logTail.length} of ` : ''}${totalLines} lines)\n`;
  text += logTail.map((l) => `  ${l}\n`).join('');
  return text;
}

function compareText(reader: RunsReader, ids: string[]): string {
  const c = reader.compare(ids);
  const head = ['', ...c.runs.map((r) => `${r.name} (${r.id})`)];
  const rows: string[][] = [head, ['status', ...c.runs.map((r) => r.status)]];
  const same = Object.keys(c.sameConfig).length;
  rows.push([`Config: differences (${same} key${same === 1 ? '' : 's'} identical)`]);
  const diff = Object.entries(c.config);
  if (diff.length === 0) rows.push(['  (none)']);
  for (const [k, vals] of diff) rows.push([`  ${k}`, ...vals.map(fmt)]);
  rows.push(['Summary']);
  for (const [k, vals] of Object.entries(c.summary)) rows.push([`  ${k}`, ...vals.map(fmt)]);
  // section titles span the row: keep them out of the column widths
  const widths = head.map((_, i) =>
    Math.max(...rows.filter((r) => r.length > 1).map((r) => (r[i] ?? '').length)),
  );
  return `${rows.map((r) => (r.length === 1 ? r[0] : r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '))).join('\n')}\n`;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Registers `keel runs` and its sub-commands on program. */
export function registerRuns(
  program: Command,
  io: RunsIO = { out: (s) => void process.stdout.write(s) },
): void {
  const runs = program
    .command('runs')
    .description('list, inspect, compare and export tracked runs')
    .option('--runs-dir <dir>', 'the run store (default: KEEL_RUNS_DIR or ./keel-runs)');

  /** Runs fn with a reader; bad ids and arguments become exit code 2 with the message. */
  const withReader = (cmd: Command, fn: (reader: RunsReader) => void) => {
    const dir = (cmd.optsWithGlobals() as { runsDir?: string }).runsDir ?? defaultRunsDir();
    const reader = openReader(dir);
    try {
      fn(reader);
    } catch (e) {
      if (e instanceof TrackError)
        cmd.error(`error: ${e.message}`, { exitCode: 2, code: `keel.runs.${e.code}` });
      throw e;
    } finally {
      reader.close();
    }
  };

  runs
    .command('list')
    .description('the runs of the store, newest first')
    .option('--project <name>', 'only this project')
    .option('--group <name>', 'only this group')
    .option('--status <status>', `only runs with this status (${STATUSES.join(', ')})`)
    .option(
      '--json',
      'print JSON: [{ id, name, project, group, tags, status, startedAt, endedAt, config, summary }]',
    )
    .action(function (
      this: Command,
      o: { project?: string; group?: string; status?: string; json?: boolean },
    ) {
      if (o.status !== undefined && !STATUSES.includes(o.status as RunStatus))
        this.error(`error: --status must be one of ${STATUSES.join(', ')}, got '${o.status}'`, {
          exitCode: 2,
        });
      withReader(this, (r) => {
        const list = r.listRuns({
          project: o.project,
          group: o.group,
          status: o.status as RunStatus | undefined,
        });
        io.out(o.json ? json(list) : listText(list, r.runsDir));
      });
    });

  runs
    .command('show')
    .description('a run: config, summary, metric and system keys, log tail')
    .argument('<id>', 'run id (or a unique prefix of at least 4 characters)')
    .option('--json', 'print JSON: the list fields plus metrics, system and logs')
    .option(
      '--max-points <n>',
      "points per series in --json, keeping each bucket's min and max",
      intOption(2),
      DEFAULT_MAX_POINTS,
    )
    .option('--tail <n>', 'log lines to show', intOption(0), 20)
    .action(function (this: Command, id: string, o: { json?: boolean; maxPoints: number; tail: number }) {
      withReader(this, (r) => {
        const full = r.resolveId(id);
        if (o.json) {
          io.out(json(r.runJson(full, { maxPoints: o.maxPoints })));
          return;
        }
        const all = r.logs(full);
        io.out(showText(r.getRun(full), o.tail === 0 ? [] : all.slice(-o.tail), all.length));
      });
    });

  runs
    .command('compare')
    .description('config differences and summary metrics of runs side by side')
    .argument('<ids...>', 'two or more run ids')
    .option('--json', 'print JSON: { runs, config (differences), sameConfig, summary }')
    .action(function (this: Command, ids: string[], o: { json?: boolean }) {
      if (ids.length < 2)
        this.error(`error: compare needs at least two run ids, got ${ids.length}`, { exitCode: 2 });
      withReader(this, (r) => {
        const full = ids.map((id) => r.resolveId(id));
        io.out(o.json ? json(r.compare(full)) : compareText(r, full));
      });
    });

  runs
    .command('export')
    .description(
      'every point of a run: --json (the show --json shape, never downsampled) or --csv (step,metric,value,wall_time)',
    )
    .argument('<id>', 'run id (or a unique prefix)')
    .option('--json', 'JSON with every point')
    .option('--csv', 'CSV, one row per (step, metric)')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(function (this: Command, id: string, o: { json?: boolean; csv?: boolean; out?: string }) {
      if (Boolean(o.json) === Boolean(o.csv))
        this.error('error: export needs exactly one of --csv or --json', { exitCode: 2 });
      withReader(this, (r) => {
        const full = r.resolveId(id);
        const parts: string[] = [];
        const write = o.out ? (s: string) => void parts.push(s) : io.out;
        if (o.json) write(JSON.stringify(r.runJson(full, { maxPoints: null })));
        else r.exportCsv(full, write);
        if (o.json) write('\n');
        if (o.out) writeFileSync(o.out, parts.join(''));
      });
    });
}
