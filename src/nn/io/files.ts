// File access for save/load: `file://` URLs or plain paths, reads that name the missing file, and
// writes that never leave a half-written file behind (write to a temporary name, then rename).
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A `file://` URL or a plain path as a filesystem path; other schemes are refused. */
export function toPath(urlOrPath: string, where: string): string {
  if (typeof urlOrPath !== 'string' || urlOrPath.length === 0) {
    throw new Error(`${where}: expected a path or a 'file://' URL, got ${JSON.stringify(urlOrPath)}`);
  }
  if (urlOrPath.startsWith('file://')) {
    const rest = urlOrPath.slice('file://'.length);
    // file:///abs/path is a proper URL; file://relative/path is tfjs-node's form for relative paths
    return rest.startsWith('/') ? fileURLToPath(`file://${rest}`) : decodeURIComponent(rest);
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(urlOrPath);
  if (scheme)
    throw new Error(
      `${where}: only 'file://' URLs and plain paths are supported here, got '${scheme[1]}://'`,
    );
  return urlOrPath;
}

/** Reads a whole file; a missing file or a directory is a clear error naming what it should have been. */
export async function readBytes(path: string, what: string, where: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${where}: ${what} '${path}' does not exist`);
    if (code === 'EISDIR') throw new Error(`${where}: ${what} '${path}' is a directory, expected a file`);
    throw new Error(`${where}: cannot read ${what} '${path}': ${(e as Error).message}`);
  }
}

export async function readText(path: string, what: string, where: string): Promise<string> {
  return new TextDecoder().decode(await readBytes(path, what, where));
}

/** Parses JSON, naming the file and the parser's complaint when it is corrupt. */
export function parseJson(text: string, path: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: '${path}' is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Writes several files so that each one appears whole or not at all: every file goes to a
 * temporary name first and is renamed once all of them are written.
 */
export async function writeFilesAtomically(
  files: { path: string; data: Uint8Array | string }[],
  where: string,
): Promise<void> {
  const tmp = files.map((f) => ({ ...f, tmp: `${f.path}.tmp-${process.pid}-${Date.now()}` }));
  try {
    for (const f of tmp) {
      await mkdir(dirname(f.path), { recursive: true });
      await writeFile(f.tmp, f.data);
    }
    for (const f of tmp) await rename(f.tmp, f.path);
  } catch (e) {
    await Promise.all(tmp.map((f) => rm(f.tmp, { force: true })));
    throw new Error(
      `${where}: cannot write '${files.map((f) => f.path).join("', '")}': ${(e as Error).message}`,
    );
  }
}
