// A small RFC 4180 CSV reader and writer: quoted fields ("" escapes, embedded commas and newlines), LF/CRLF/CR
// line ends, a UTF-8 BOM, blank lines skipped; every record keeps the line it starts on for error messages.
// Hand-written rather than a dependency: the label files are simple, and errors must name file and line.

import { readFile } from 'node:fs/promises';

export interface CsvRow {
  /** 1-based line of the file where the record starts (the header is line 1 when it comes first) */
  line: number;
  cells: string[];
}

export interface CsvTable {
  file: string;
  header: string[];
  headerLine: number;
  rows: CsvRow[];
}

/** Parses CSV text into records (arrays of fields). */
export function parseCsvRecords(text: string, file = '<csv>'): CsvRow[] {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows: CsvRow[] = [];
  let line = 1;
  let i = 0;
  const n = s.length;
  while (i < n) {
    const start = line;
    const cells: string[] = [];
    let blank = true;
    for (;;) {
      let cell = '';
      if (s[i] === '"') {
        blank = false;
        i++;
        for (;;) {
          if (i >= n) throw new Error(`${file} line ${start}: unterminated quoted field`);
          const ch = s[i];
          if (ch === '"') {
            if (s[i + 1] === '"') {
              cell += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === '\n' || (ch === '\r' && s[i + 1] !== '\n')) line++;
          cell += ch;
          i++;
        }
        if (i < n && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r')
          throw new Error(`${file} line ${line}: unexpected character '${s[i]}' after a closing quote`);
      } else {
        const from = i;
        while (i < n && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r') i++;
        cell = s.slice(from, i);
        if (cell.length > 0) blank = false;
      }
      cells.push(cell);
      if (i < n && s[i] === ',') {
        blank = false;
        i++;
        continue;
      }
      break;
    }
    // end of record: \r\n, \n, \r or end of text
    if (s[i] === '\r' && s[i + 1] === '\n') i += 2;
    else if (i < n) i++;
    line++;
    if (!blank) rows.push({ line: start, cells });
  }
  return rows;
}

/** Parses CSV text whose first record is a header. */
export function parseCsv(text: string, file = '<csv>'): CsvTable {
  const records = parseCsvRecords(text, file);
  if (records.length === 0) throw new Error(`${file}: the file is empty (no header)`);
  const [head, ...rows] = records;
  return { file, header: head.cells.map((h) => h.trim()), headerLine: head.line, rows };
}

/** Reads and parses a CSV file with a header; a missing file is an error naming it. */
export async function readCsv(path: string, where: string): Promise<CsvTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      `${where}: cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    );
  }
  try {
    return parseCsv(text, path);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

/** The index of a named column (trimmed, case-sensitive), or an error listing the header. */
export function column(t: CsvTable, name: string, where: string): number {
  const i = t.header.indexOf(name);
  if (i < 0)
    throw new Error(
      `${where}: ${t.file} has no column '${name}' (line ${t.headerLine} has: ${t.header.map((h) => `'${h}'`).join(', ')})`,
    );
  return i;
}

/** One CSV field, quoted when it must be. */
export function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text from a header and rows (LF line ends, final newline). */
export function formatCsv(header: string[], rows: (string | number)[][]): string {
  return `${[header, ...rows].map((r) => r.map(csvField).join(',')).join('\n')}\n`;
}
