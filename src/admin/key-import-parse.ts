import { z } from 'zod';
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
  name: z.string().trim().min(1).max(200).nullish(),
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

  const lines = text.split('\n');
  let sawHeader = false;
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    if (format === 'LINES') return accept(i + 1, { value: trimmed });
    const cells = splitCsvLine(line);
    if (!cells) return out.problems.push({ line: i + 1, reason: 'unbalanced quotes' });
    if (!sawHeader && out.keys.length === 0 && out.problems.length === 0 && cells[0]?.trim().toLowerCase() === 'value') {
      sawHeader = true;
      return;
    }
    if (cells.length > 4) return out.problems.push({ line: i + 1, reason: 'expected at most 4 columns: value,name,weight,quota' });
    const [value, name, weight, quota] = cells.map((c) => c.trim());
    accept(i + 1, { value, name: name || null, weight: toNumber(weight), quota: toNumber(quota) });
  });
  return out;
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
