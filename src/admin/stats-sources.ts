// Where stats read their sums: the request-log rows, or the per-minute
// rollups (RequestLogMinute, kept by the log writer in the same transaction as
// the rows). Both are summed with the same queries; only the table, its time
// column and how a row counts requests and errors differ.

import type { SqlDriver, SqlValue } from '../db/sql-driver.ts';

export interface Source {
  table: 'RequestLog' | 'RequestLogMinute';
  /** Where the per-key sums are: the rows, or the narrower per-key rollups. */
  keyTable: 'RequestLog' | 'RequestLogKeyMinute';
  time: 'createdAt' | 'minute';
  requests: string;
  errors: string;
}

/** Errors are status >= 400 or a transport error, the same definition the filters and subscriptions use. */
export const ROWS: Source = { table: 'RequestLog', keyTable: 'RequestLog', time: 'createdAt', requests: 'COUNT(*)', errors: `SUM(CASE WHEN "status" >= 400 OR "error" IS NOT NULL THEN 1 ELSE 0 END)` };
export const MINUTES: Source = { table: 'RequestLogMinute', keyTable: 'RequestLogKeyMinute', time: 'minute', requests: 'SUM("requests")', errors: 'SUM("errors")' };

/** One source over [from, to). */
export interface Part {
  source: Source;
  from: number;
  to: number;
}

export interface Sums {
  requests: number;
  errors: number;
  latency: number;
}
export interface BucketSums extends Sums {
  bytesIn: number;
  bytesOut: number;
  promptTokens: number;
  completionTokens: number;
}
export interface Aggregates {
  buckets: Map<number, BucketSums>;
  upstreams: Map<string | null, Sums>;
  keys: Map<string, Sums>;
}

const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));

/** The WHERE of a part (time range and upstream) with its parameters. */
export function partWhere(sql: SqlDriver, part: Part, upstreamId: string | null): { where: string; params: SqlValue[] } {
  let where = `"${part.source.time}" >= ? AND "${part.source.time}" < ?`;
  const params: SqlValue[] = [sql.time(part.from), sql.time(part.to)];
  if (upstreamId) {
    // SQLite has no statistics to weigh the upstream index against the time
    // range; the unary + keeps it on createdAt, so the cost follows the range.
    where += sql.provider === 'sqlite' && part.source.table === 'RequestLog' ? ` AND +"upstreamId" = ?` : ` AND "upstreamId" = ?`;
    params.push(upstreamId);
  }
  return { where, params };
}

/**
 * Sums of one part per bucket (index from `start`), per upstream and per key
 * (the `keyLimit` busiest, or all when null). Totals are the sum of the
 * buckets: one scan for both.
 */
export async function aggregate(sql: SqlDriver, part: Part, upstreamId: string | null, start: number, bucketMs: number, keyLimit: number | null): Promise<Aggregates> {
  const { table, time, requests, errors } = part.source;
  const { where, params } = partWhere(sql, part, upstreamId);
  // The bucket bounds are integers we computed, inlined so SQLite divides
  // integers (bound numbers arrive as REAL and every row would be its own group).
  const bucketExpr = sql.provider === 'sqlite' ? `("${time}" - ${start}) / ${bucketMs}` : `FLOOR((EXTRACT(EPOCH FROM "${time}") * 1000 - ${start}) / ${bucketMs})`;
  const bucketRows = await sql.query(
    `SELECT ${bucketExpr} AS "n", ${requests} AS "requests", ${errors} AS "errors", SUM("latencyMs") AS "latency", SUM("bytesIn") AS "bytesIn",
            SUM("bytesOut") AS "bytesOut", SUM("promptTokens") AS "promptTokens", SUM("completionTokens") AS "completionTokens"
       FROM "${table}" WHERE ${where} GROUP BY 1`,
    params,
  );
  const grouped = (from: string, column: string, extra: string, limit: string) =>
    sql.query(`SELECT "${column}" AS "id", ${requests} AS "requests", ${errors} AS "errors", SUM("latencyMs") AS "latency" FROM "${from}" WHERE ${where}${extra} GROUP BY "${column}" ORDER BY 2 DESC${limit}`, params);
  const upstreamRows = await grouped(table, 'upstreamId', '', '');
  const keyRows = await grouped(part.source.keyTable, 'keyId', ` AND "keyId" IS NOT NULL`, keyLimit === null ? '' : ` LIMIT ${keyLimit}`);
  const sums = (r: Record<string, unknown>): Sums => ({ requests: num(r.requests), errors: num(r.errors), latency: num(r.latency) });
  return {
    buckets: new Map(bucketRows.map((r) => [num(r.n), { ...sums(r), bytesIn: num(r.bytesIn), bytesOut: num(r.bytesOut), promptTokens: num(r.promptTokens), completionTokens: num(r.completionTokens) }])),
    upstreams: new Map(upstreamRows.map((r) => [(r.id as string | null) ?? null, sums(r)])),
    keys: new Map(keyRows.map((r) => [r.id as string, sums(r)])),
  };
}

/** Adds `b` into `a`, field by field and key by key. */
export function mergeAggregates(a: Aggregates, b: Aggregates): Aggregates {
  const into = <K, V extends object>(target: Map<K, V>, source: Map<K, V>) => {
    for (const [k, v] of source) {
      const t = target.get(k) as Record<string, number> | undefined;
      if (t === undefined) target.set(k, { ...v });
      else for (const [f, n] of Object.entries(v)) t[f] = (t[f] ?? 0) + (n as number);
    }
  };
  into(a.buckets, b.buckets);
  into(a.upstreams, b.upstreams);
  into(a.keys, b.keys);
  return a;
}
