import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { plainText } from '../text.ts';
import { UserInputError } from '../errors.ts';
import { keyValue, type NewKey } from './keys.ts';

export const KEY_IMPORT_FORMATS = ['LINES', 'CSV', 'JSON'] as const;
export type KeyImportFormat = (typeof KEY_IMPORT_FORMATS)[number];

export interface ImportProblem {
  /** 1-based line number (LINES, CSV) or array position (JSON). */
  line: number;
  /** Why the line was rejected. Never contains the line itself: it may hold a secret. */
  reason: string;
}

export interface ParsedImport {
  keys: Array<NewKey & { line: number }>;
  problems: ImportProblem[];
}

// Keys never contain white space; a line that does is usually "name key" pasted into the wrong format.
const importedKey = z.object({
  value: keyValue.refine((v) => !/\s/.test(v), 'must not contain white space'),
  name: plainText().trim().min(1).max(200).nullish(),
  weight: z.number().int('must be a whole number').min(0).max(1_000_000).nullish(),
  quota: z.number().int('must be a whole number').min(0).nullish(),
});

/** Parses an import text. Rejected lines become problems; only an unreadable JSON document fails as a whole. */
export function parseKeyImport(text: string, format: KeyImportFormat): ParsedImport {
  const out: ParsedImport = { keys: [], problems: [] };
  const accept = (line: number, candidate: unknown) => {
    const parsed = importedKey.safeParse(candidate);
    if (parsed.success) out.keys.push({ ...parsed.data, line });
    else {
      const issue = parsed.error.issues[0]!;
      out.problems.push({ line, reason: `${issue.path.join('.') || 'value'}: ${issue.message}` });
    }
  };

  if (format === 'JSON') {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new UserInputError('text: is not valid JSON', 'text');
    }
    if (!Array.isArray(doc)) throw new UserInputError('text: must be a JSON array of keys or of { value, name, weight, quota }', 'text');
    doc.forEach((item, i) => accept(i + 1, typeof item === 'string' ? { value: item } : item));
    return out;
  }

  let sawHeader = false;
  const { records, skipped } = readRecords(text, format);
  for (const { line, cells } of records) {
    if (format === 'LINES') {
      accept(line, { value: cells[0]!.trim() });
      continue;
    }
    if (!sawHeader && out.keys.length === 0 && out.problems.length === 0 && cells[0]?.trim().toLowerCase() === 'value') {
      sawHeader = true;
      continue;
    }
    if (cells.length > 4) {
      out.problems.push({ line, reason: 'expected at most 4 columns: value,name,weight,quota' });
      continue;
    }
    const [value, name, weight, quota] = cells.map((c) => c.trim());
    accept(line, { value, name: name || null, weight: toNumber(weight), quota: toNumber(quota) });
  }
  // What the reader could not read is known before any record is judged; report all in line order.
  out.problems.push(...skipped);
  out.problems.sort((a, b) => a.line - b.line);
  return out;
}

/**
 * The records of a CSV or LINES text, each with the line it starts on.
 * csv-parse reads RFC 4180 (quoted commas, quotes and line breaks), a BOM and
 * `#` comment lines; a quote inside an unquoted field is literal. LINES is
 * the same reader with no quoting and no separator, so both skip and count
 * lines alike. A record whose quote is never closed is a problem (it runs to
 * the end of the text). Line breaks are made LF first: csv-parse's line count
 * drifts on CRLF inside quoted fields.
 */
function readRecords(input: string, format: 'LINES' | 'CSV'): { records: Array<{ line: number; cells: string[] }>; skipped: ImportProblem[] } {
  const text = input.replace(/\r\n?/g, '\n');
  const skipped: ImportProblem[] = [];
  const records = parse(text, {
    bom: true,
    comment: '#',
    comment_no_infix: true,
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    info: true,
    raw: true,
    ...(format === 'LINES' ? { delimiter: '\u0000', quote: false } : {}),
    skip_records_with_error: true,
    on_skip: (error, raw) => {
      const e = error as { code?: string; lines?: number } | undefined;
      // An unclosed quote runs to the end of the text: its raw text is that tail, from its opening line on.
      const unclosed = e?.code === 'CSV_QUOTE_NOT_CLOSED' && raw !== undefined;
      const line = unclosed ? lineAt(text, text.length - raw.replace(/^\n+/, '').length) : (e?.lines ?? 0);
      skipped.push({ line, reason: unclosed ? 'unbalanced quotes' : 'not a CSV record' });
      return undefined;
    },
  }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  return {
    records: records
      // White space only is no key (LINES reads each whole line as one cell); an indented `#` line is a comment too.
      .filter(({ record }) => !(record.length === 1 && record[0]!.trim() === '') && !record[0]!.trimStart().startsWith('#'))
      // csv-parse counts the line a record ends on; quoted line breaks inside it move its start up.
      .map(({ record, info }) => ({ line: info.lines - record.reduce((n, cell) => n + countBreaks(cell), 0), cells: record })),
    skipped,
  };
}

function countBreaks(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function lineAt(text: string, offset: number): number {
  return countBreaks(text.slice(0, offset)) + 1;
}

function toNumber(cell: string | undefined): number | null | string {
  if (!cell) return null;
  const n = Number(cell);
  return Number.isFinite(n) ? n : cell; // a string fails validation with a clear message
}

/** RFC 4180 fields of one line ("" escapes a quote); null when a quote is left open. */
export function splitCsvLine(line: string): string[] | null {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell.trim() === '') {
      quoted = true;
      cell = '';
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  if (quoted) return null;
  cells.push(cell);
  return cells;
}
