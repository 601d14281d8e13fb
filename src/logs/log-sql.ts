// INSERT statements for a batch of request-log rows. SQLite: one prepared
// single-row INSERT run per row inside the transaction (the SQL text never
// varies, and run()'s lastInsertRowid gives the id: RETURNING through all()
// measured 2.4x slower, 22 vs 9 µs a row with the table's six indexes).
// PostgreSQL: multi-row INSERTs with RETURNING, chunked below the
// 65,535-parameter limit, so a batch is a few round trips.

import type { RequestLogged } from '../events/bus.ts';
import type { SqlDriver, SqlResult, SqlStatement, SqlValue } from '../db/sql-driver.ts';

export type StoredRow = RequestLogged;

const COLUMNS = [
  'createdAt', 'requestId', 'upstreamId', 'keyId', 'accessTokenId', 'method', 'path', 'status', 'outcome',
  'latencyMs', 'overheadMs', 'attempts', 'bytesIn', 'bytesOut', 'clientIp', 'error', 'model', 'stream',
  'promptTokens', 'completionTokens', 'totalTokens', 'matchedRules', 'requestBody', 'responseBody', 'bodyTruncated',
] as const;

/** Rows per PostgreSQL statement: 25 columns x 1,000 stays well under 65,535 parameters. */
const PG_ROWS_PER_STATEMENT = 1000;

const COLUMN_LIST = COLUMNS.map((c) => `"${c}"`).join(', ');
const PLAIN_TUPLE = `(${COLUMNS.map(() => '?').join(', ')})`;
// Safe mode: a referenced row deleted after the state check turns into NULL
// inside the transaction instead of failing the whole batch on a foreign key.
const SAFE_TUPLE = `(${COLUMNS.map((c) =>
  c === 'upstreamId' ? '(SELECT "id" FROM "Upstream" WHERE "id" = ?)'
  : c === 'keyId' ? '(SELECT "id" FROM "ApiKey" WHERE "id" = ?)'
  : c === 'accessTokenId' ? '(SELECT "id" FROM "AccessToken" WHERE "id" = ?)'
  : '?').join(', ')})`;

function insertSql(rows: number, safe: boolean, returning: boolean): string {
  const tuple = safe ? SAFE_TUPLE : PLAIN_TUPLE;
  const values = rows === 1 ? tuple : Array(rows).fill(tuple).join(', ');
  return `INSERT INTO "RequestLog" (${COLUMN_LIST}) VALUES ${values}${returning ? ' RETURNING "id"' : ''}`;
}

const sqlCache = new Map<string, string>();
function cachedInsertSql(rows: number, safe: boolean, returning: boolean): string {
  const id = `${rows}:${safe}:${returning}`;
  let text = sqlCache.get(id);
  if (text === undefined) {
    if (sqlCache.size > 64) sqlCache.clear();
    sqlCache.set(id, (text = insertSql(rows, safe, returning)));
  }
  return text;
}

function pushValues(out: SqlValue[], r: StoredRow, sql: SqlDriver): void {
  out.push(
    sql.time(r.createdAt), r.requestId, r.upstreamId, r.keyId, r.accessTokenId, r.method, r.path, r.status, r.outcome,
    r.latencyMs, r.overheadMs, r.attempts, r.bytesIn, r.bytesOut, r.clientIp, r.error, r.model, r.stream,
    r.promptTokens, r.completionTokens, r.totalTokens, r.matchedRules, r.requestBody, r.responseBody, r.bodyTruncated,
  );
}

/** Statements inserting `rows` in order; each returns the ids it created. */
export function insertStatements(rows: readonly StoredRow[], sql: SqlDriver, safe: boolean): SqlStatement[] {
  const out: SqlStatement[] = [];
  if (sql.provider === 'sqlite') {
    const text = cachedInsertSql(1, safe, false);
    for (const r of rows) {
      const params: SqlValue[] = [];
      pushValues(params, r, sql);
      out.push({ sql: text, params });
    }
    return out;
  }
  for (let i = 0; i < rows.length; i += PG_ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + PG_ROWS_PER_STATEMENT);
    const params: SqlValue[] = [];
    for (const r of chunk) pushValues(params, r, sql);
    out.push({ sql: cachedInsertSql(chunk.length, safe, true), params });
  }
  return out;
}

/**
 * The new ids, in insertion order: SQLite's lastInsertId per single-row
 * statement, or PostgreSQL's RETURNING rows. Ids grow in VALUES order within
 * a statement, but PostgreSQL does not promise RETURNING order, so each
 * statement's ids are sorted.
 */
export function insertedIds(results: readonly SqlResult[]): number[] {
  const ids: number[] = [];
  for (const result of results) {
    if (result.lastInsertId !== null) {
      ids.push(result.lastInsertId);
      continue;
    }
    const chunk = result.rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    for (const id of chunk) ids.push(id);
  }
  return ids;
}
