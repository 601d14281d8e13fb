// The SQL the log writer's worker runs: request-log INSERTs and the usage
// UPDATEs. SQLite: prepared INSERTs of a fixed number of rows (and single
// rows for the rest) inside the transaction; ids come from run()'s
// lastInsertRowid (RETURNING through all() measured 2.4x slower, 22 vs 9 µs a
// row with the table's six indexes). PostgreSQL: multi-row INSERTs with
// RETURNING, chunked below the 65,535-parameter limit, so a batch is a few
// round trips.

import type { RequestLogged } from '../events/bus.ts';

export type StoredRow = RequestLogged;
export type RowValue = string | number | null | Date;

const COLUMNS = [
  'createdAt', 'requestId', 'upstreamId', 'keyId', 'accessTokenId', 'method', 'path', 'status', 'outcome',
  'latencyMs', 'overheadMs', 'attempts', 'bytesIn', 'bytesOut', 'clientIp', 'error', 'model', 'stream',
  'promptTokens', 'completionTokens', 'totalTokens', 'matchedRules', 'requestBody', 'responseBody', 'bodyTruncated',
] as const;
export const COLUMN_COUNT = COLUMNS.length;

/** Rows per PostgreSQL statement: 25 columns x 1,000 stays well under 65,535 parameters. */
export const PG_ROWS_PER_STATEMENT = 1000;

const COLUMN_LIST = COLUMNS.map((c) => `"${c}"`).join(', ');
// Safe mode: a referenced row deleted after the main thread's check turns into
// NULL inside the transaction instead of failing the whole batch on a foreign key.
const REFERENCED: Partial<Record<(typeof COLUMNS)[number], string>> = { upstreamId: 'Upstream', keyId: 'ApiKey', accessTokenId: 'AccessToken' };

/** `placeholder(n)` numbers parameters from 1: `?` for SQLite, `$n` for PostgreSQL. */
export function insertSql(rows: number, safe: boolean, placeholder: (n: number) => string, returning: boolean): string {
  let n = 0;
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const values = COLUMNS.map((c) => {
      const p = placeholder(++n);
      const table = safe ? REFERENCED[c] : undefined;
      return table === undefined ? p : `(SELECT "id" FROM "${table}" WHERE "id" = ${p})`;
    });
    tuples.push(`(${values.join(', ')})`);
  }
  return `INSERT INTO "RequestLog" (${COLUMN_LIST}) VALUES ${tuples.join(', ')}${returning ? ' RETURNING "id"' : ''}`;
}

/** Writes a row's values at `out[at..at+25)`; `time` and `bool` adapt timestamps and booleans to the provider. */
export function putRowValues(out: RowValue[], at: number, r: StoredRow, time: (ms: number) => RowValue, bool: (b: boolean) => number | boolean): void {
  out[at] = time(r.createdAt);
  out[at + 1] = r.requestId;
  out[at + 2] = r.upstreamId;
  out[at + 3] = r.keyId;
  out[at + 4] = r.accessTokenId;
  out[at + 5] = r.method;
  out[at + 6] = r.path;
  out[at + 7] = r.status;
  out[at + 8] = r.outcome;
  out[at + 9] = r.latencyMs;
  out[at + 10] = r.overheadMs;
  out[at + 11] = r.attempts;
  out[at + 12] = r.bytesIn;
  out[at + 13] = r.bytesOut;
  out[at + 14] = r.clientIp;
  out[at + 15] = r.error;
  out[at + 16] = r.model;
  out[at + 17] = bool(r.stream) as number;
  out[at + 18] = r.promptTokens;
  out[at + 19] = r.completionTokens;
  out[at + 20] = r.totalTokens;
  out[at + 21] = r.matchedRules;
  out[at + 22] = r.requestBody;
  out[at + 23] = r.responseBody;
  out[at + 24] = bool(r.bodyTruncated) as number;
}

/** Usage deltas: adding, never overwriting, so several writers (instances) can share the rows. */
export function keyUpdateSql(placeholder: (n: number) => string): string {
  const p = (n: number) => placeholder(n);
  return (
    `UPDATE "ApiKey" SET "quotaUsed" = "quotaUsed" + ${p(1)}, "requestCount" = "requestCount" + ${p(2)}, "failureCount" = "failureCount" + ${p(3)}, ` +
    `"promptTokens" = "promptTokens" + ${p(4)}, "completionTokens" = "completionTokens" + ${p(5)}, "lastUsedAt" = COALESCE(${p(6)}, "lastUsedAt"), ` +
    `"lastError" = COALESCE(${p(7)}, "lastError") WHERE "id" = ${p(8)}`
  );
}

export function quotaCompensationSql(placeholder: (n: number) => string): string {
  return `UPDATE "ApiKey" SET "quotaUsed" = "quotaUsed" - ${placeholder(1)} WHERE "id" = ${placeholder(2)}`;
}

export function tokenUpdateSql(placeholder: (n: number) => string): string {
  return `UPDATE "AccessToken" SET "lastUsedAt" = ${placeholder(1)} WHERE "id" = ${placeholder(2)}`;
}

export const sqlitePlaceholder = (): string => '?';
export const pgPlaceholder = (n: number): string => `$${n}`;
