// keyrelay keys import <upstream> <file>: sends the file to a running
// keyrelay in batches (importKeys), with progress on stderr and the report on
// stdout. Keys already in the pool, earlier batches included, count as skipped.

import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { CliError, type Remote } from '../remote.ts';

type Format = 'LINES' | 'CSV' | 'JSON';
interface Problem { line: number; reason: string }
interface Report { added: number; skipped: number; invalid: number; problems: Problem[] }

const IMPORT = `mutation CliImportKeys($upstreamId: ID!, $text: String!, $format: KeyImportFormat) {
  importKeys(upstreamId: $upstreamId, text: $text, format: $format) { added skipped invalid problems { line reason } }
}`;
const FIND = `query CliFindUpstream($name: String!) { upstream(name: $name) { id name } }`;
const SHOWN_PROBLEMS = 50;
/** Well below KEYRELAY_GRAPHQL_MAX_BODY_BYTES' default (1 MiB), JSON escaping included. */
const MAX_BATCH_CHARS = 256 * 1024;

export function formatOf(file: string, given: string | undefined): Format {
  const format = (given ?? { '.csv': 'csv', '.json': 'json' }[extname(file).toLowerCase()] ?? 'lines').toUpperCase();
  if (format !== 'LINES' && format !== 'CSV' && format !== 'JSON') throw new CliError(`--format must be lines, csv or json (got ${given})`, 2);
  return format;
}

/** Ranges [from, to) of at most `size` entries and, past the first entry, MAX_BATCH_CHARS (long keys stay under the API's body limit). */
function ranges(from: number, count: number, size: number, length: (i: number) => number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = from; i < count; ) {
    let end = i;
    let chars = 0;
    while (end < count && end - i < size && (end === i || chars + length(end) < MAX_BATCH_CHARS)) chars += length(end++) + 1;
    out.push([i, end]);
    i = end;
  }
  return out;
}

/** The file as batches of text, each with the line (or array position) its first entry had. */
function batches(text: string, format: Format, size: number): Array<{ text: string; offset: number; entries: number }> {
  if (format === 'JSON') {
    let items: unknown;
    try {
      items = JSON.parse(text);
    } catch {
      throw new CliError('the file is not valid JSON');
    }
    if (!Array.isArray(items)) throw new CliError('a JSON import is an array of keys or of { value, name, weight, quota }');
    const list = items as unknown[];
    return ranges(0, list.length, size, (i) => JSON.stringify(list[i] ?? null).length).map(([a, b]) => ({ text: JSON.stringify(list.slice(a, b)), offset: a, entries: b - a }));
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const header = format === 'CSV' && lines[0]?.trim().toLowerCase().startsWith('value') ? 1 : 0;
  return ranges(header, lines.length, size, (i) => lines[i]!.length).map(([a, b]) => ({
    text: (header ? `${lines[0]}\n` : '') + lines.slice(a, b).join('\n'),
    offset: a - header,
    entries: b - a,
  }));
}

export async function importKeys(remote: Remote, upstream: string, file: string, opts: { format?: string; batch?: string }): Promise<number> {
  const format = formatOf(file, opts.format);
  const size = Number(opts.batch ?? 1000);
  if (!Number.isInteger(size) || size < 1 || size > 10_000) throw new CliError('--batch must be a whole number from 1 to 10000', 2);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const found = await remote.request<{ upstream: { id: string; name: string } | null }>(FIND, { name: upstream });
  if (!found.upstream) throw new CliError(`no upstream named "${upstream}" at ${remote.url}`);

  const parts = batches(text, format, size);
  const total = parts.reduce((n, p) => n + p.entries, 0);
  const report: Report = { added: 0, skipped: 0, invalid: 0, problems: [] };
  let done = 0;
  for (const part of parts) {
    const res = await remote.request<{ importKeys: Report }>(IMPORT, { upstreamId: found.upstream.id, text: part.text, format });
    const r = res.importKeys;
    report.added += r.added;
    report.skipped += r.skipped;
    report.invalid += r.invalid;
    // Each batch numbers its lines from 1 (a CSV batch repeats the header line first, which `offset` allows for).
    report.problems.push(...r.problems.map((p) => ({ line: p.line + part.offset, reason: p.reason })));
    done += part.entries;
    process.stderr.write(`keys import: ${done}/${total} ${format === 'JSON' ? 'entries' : 'lines'} sent (added ${report.added}, skipped ${report.skipped}, invalid ${report.invalid})\n`);
  }

  const lines = [
    `imported into ${found.upstream.name}: ${report.added} added, ${report.skipped} skipped (already in the pool or repeated), ${report.invalid} invalid`,
    ...report.problems.slice(0, SHOWN_PROBLEMS).map((p) => `  ${format === 'JSON' ? 'entry' : 'line'} ${p.line}: ${p.reason}`),
    ...(report.invalid > SHOWN_PROBLEMS ? [`  ... and ${report.invalid - SHOWN_PROBLEMS} more`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return report.invalid > 0 ? 1 : 0;
}
