// Console capture: tees process.stdout/stderr into a run's log as lines, the way a terminal would
// show them at the end: a carriage return starts the line over (progress bars keep their final
// state), ANSI escape sequences are dropped. Several runs may capture at once.
import { StringDecoder } from 'node:string_decoder';

export type Stream = 'stdout' | 'stderr';

/** Receives each finished line. */
export type LineSink = (stream: Stream, line: string, time: number) => void;

const MAX_LINE = 64 * 1024;
// CSI sequences (colours, \x1b[K, cursor moves), OSC sequences, and two-character escapes
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escapes is the point
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** Splits one stream's chunks into final lines. */
export class LineAssembler {
  private line = '';
  private pendingCR = false;
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly emit: (line: string) => void) {}

  write(chunk: string | Uint8Array): void {
    const text =
      typeof chunk === 'string'
        ? chunk
        : this.decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.append(text.slice(start, i));
      start = i + 1;
      if (c === 10) {
        this.pendingCR = false; // \r\n ends the line like \n
        this.emitLine();
      } else {
        this.pendingCR = true;
      }
    }
    this.append(text.slice(start));
  }

  /** Emits the unfinished line, if any. */
  end(): void {
    this.append(this.decoder.end());
    if (this.line.length > 0) this.emitLine();
    this.pendingCR = false;
  }

  private append(s: string): void {
    if (s.length === 0) return;
    if (this.pendingCR) {
      this.line = '';
      this.pendingCR = false;
    }
    if (this.line.length < MAX_LINE) this.line += s.length > MAX_LINE ? s.slice(0, MAX_LINE) : s;
  }

  private emitLine(): void {
    const l = this.line.replace(ANSI, '');
    this.line = '';
    this.emit(l);
  }
}

interface Tap {
  sink: LineSink;
  out: LineAssembler;
  err: LineAssembler;
}

const taps = new Set<Tap>();
type Write = typeof process.stdout.write;
let originals: { stdout: Write; stderr: Write } | null = null;
let patched: { stdout: Write; stderr: Write } | null = null;

function install(): void {
  originals = { stdout: process.stdout.write, stderr: process.stderr.write };
  const wrap = (stream: Stream, original: Write): Write => {
    const wrapper = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      // a wrapper left in someone else's chain after uninstall() only forwards
      if (patched?.[stream] === wrapper && (typeof chunk === 'string' || chunk instanceof Uint8Array)) {
        for (const t of taps) {
          try {
            (stream === 'stdout' ? t.out : t.err).write(chunk);
          } catch {}
        }
      }
      return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Write;
    return wrapper;
  };
  patched = { stdout: wrap('stdout', originals.stdout), stderr: wrap('stderr', originals.stderr) };
  process.stdout.write = patched.stdout;
  process.stderr.write = patched.stderr;
}

function uninstall(): void {
  // restore only what is still ours: someone who wrapped our wrapper keeps working (it forwards to no tap)
  if (originals && patched) {
    if (process.stdout.write === patched.stdout) process.stdout.write = originals.stdout;
    if (process.stderr.write === patched.stderr) process.stderr.write = originals.stderr;
  }
  originals = null;
  patched = null;
}

/** Starts teeing stdout/stderr lines to sink; the returned function stops it (flushing partial lines). */
export function captureConsole(sink: LineSink): () => void {
  const tap: Tap = {
    sink,
    out: new LineAssembler((l) => sink('stdout', l, Date.now())),
    err: new LineAssembler((l) => sink('stderr', l, Date.now())),
  };
  if (taps.size === 0 && !patched) install();
  taps.add(tap);
  return () => {
    if (!taps.delete(tap)) return;
    tap.out.end();
    tap.err.end();
    if (taps.size === 0) uninstall();
  };
}
