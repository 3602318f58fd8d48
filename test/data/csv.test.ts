// The CSV reader: quotes, escaped quotes, embedded separators and newlines, CRLF/CR/LF, BOM, blank lines,
// line numbers, malformed quoting; and the writer's round trip.

import { describe, expect, it } from 'vitest';
import { column, formatCsv, parseCsv, parseCsvRecords } from '../../src/data/csv.js';

const cells = (text: string) => parseCsvRecords(text).map((r) => r.cells);

describe('parseCsv', () => {
  it('plain rows with LF, CRLF and CR line ends, with or without a final newline', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const text = ['image,category', 'a.jpg,1', 'b.jpg,2'].join(eol);
      expect(cells(text)).toEqual([
        ['image', 'category'],
        ['a.jpg', '1'],
        ['b.jpg', '2'],
      ]);
      expect(cells(text + eol)).toEqual([
        ['image', 'category'],
        ['a.jpg', '1'],
        ['b.jpg', '2'],
      ]);
    }
  });

  it('a UTF-8 BOM is dropped from the first header name', () => {
    const t = parseCsv('\uFEFFimage,category\r\nx.jpg,3\r\n');
    expect(t.header).toEqual(['image', 'category']);
    expect(column(t, 'image', 'w')).toBe(0);
  });

  it('quoted fields: separators, escaped quotes and newlines inside; empty fields', () => {
    expect(cells('a,"b,c","say ""hi""",,"line1\nline2"\n')).toEqual([
      ['a', 'b,c', 'say "hi"', '', 'line1\nline2'],
    ]);
    expect(cells('"",x\n')).toEqual([['', 'x']]);
    expect(cells('x,\n')).toEqual([['x', '']]);
  });

  it('blank lines are skipped; records keep the line they start on', () => {
    const rows = parseCsvRecords('h1,h2\n\na,"multi\r\nline"\nb,2\n\r\nc,3');
    expect(rows.map((r) => r.line)).toEqual([1, 3, 5, 7]);
    expect(rows[1].cells[1]).toBe('multi\r\nline');
  });

  it('header names are trimmed; unknown columns are errors listing the header', () => {
    const t = parseCsv(' image , category \nx,1\n', 'train.csv');
    expect(t.header).toEqual(['image', 'category']);
    expect(() => column(t, 'label', 'loader')).toThrow(
      "loader: train.csv has no column 'label' (line 1 has: 'image', 'category')",
    );
  });

  it('malformed quoting and empty files are errors with file and line', () => {
    expect(() => parseCsvRecords('a,b\n"open,1\n', 'f.csv')).toThrow(
      'f.csv line 2: unterminated quoted field',
    );
    expect(() => parseCsvRecords('a,b\n"x"y,1\n', 'f.csv')).toThrow(/f.csv line 2: unexpected character 'y'/);
    expect(() => parseCsv('', 'e.csv')).toThrow('e.csv: the file is empty (no header)');
    expect(() => parseCsv('\n\n', 'e.csv')).toThrow(/empty/);
  });

  it('formatCsv quotes only what needs it and round-trips', () => {
    const rows = [
      ['plain', 'with,comma'],
      ['with "quote"', 'two\nlines'],
      [' padded ', 7],
    ];
    const text = formatCsv(['a', 'b'], rows);
    expect(text.split('\n')[0]).toBe('a,b');
    expect(cells(text)).toEqual([['a', 'b'], ...rows.map((r) => r.map(String))]);
  });
});
