import type { SqlDriver, SqlValue } from '../db/sql-driver.ts';
import { LATENCY_BUCKETS, LATENCY_COLUMNS, latencyBucketCase, percentileFromBuckets } from '../logs/latency-buckets.ts';
import { partWhere, type Part } from './stats-sources.ts';

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

const POINTS = [
  ['p50', 0.5],
  ['p95', 0.95],
  ['p99', 0.99],
] as const;

/**
 * Nearest-rank latency percentiles (the ceil(p × n)-th smallest value), exact
 * on both providers. PostgreSQL has percentile_disc, which is exactly that.
 * SQLite has no percentile aggregate, so each point is one
 * `ORDER BY "latencyMs" LIMIT 1 OFFSET k` query; for points above the median
 * the query sorts descending so the offset (and SQLite's bounded sorter, which
 * keeps only offset + 1 rows) stays small. Cost: one sort per point over the
 * rows in range (about 0.2 s per million rows here).
 */
export async function latencyPercentiles(sql: SqlDriver, where: string, params: SqlValue[], count: number): Promise<Percentiles> {
  if (count === 0) return { p50: null, p95: null, p99: null };
  if (sql.provider === 'postgres') {
    const [row] = await sql.query(
      `SELECT ${POINTS.map(([name, p]) => `percentile_disc(${p}) WITHIN GROUP (ORDER BY "latencyMs") AS "${name}"`).join(', ')} FROM "RequestLog" WHERE ${where}`,
      params,
    );
    return { p50: Number(row?.p50), p95: Number(row?.p95), p99: Number(row?.p99) };
  }
  const result: Percentiles = { p50: null, p95: null, p99: null };
  for (const [name, p] of POINTS) {
    const rank = Math.max(1, Math.ceil(p * count)); // 1-based, ascending
    const ascending = rank <= count / 2;
    const offset = ascending ? rank - 1 : count - rank;
    const [row] = await sql.query<{ v: number }>(
      `SELECT "latencyMs" AS "v" FROM "RequestLog" WHERE ${where} ORDER BY "latencyMs" ${ascending ? 'ASC' : 'DESC'} LIMIT 1 OFFSET ${offset}`,
      params,
    );
    result[name] = row ? Number(row.v) : null;
  }
  return result;
}

/**
 * Percentiles from the latency buckets of the parts (the rollups' bucket
 * columns, and the same buckets computed over raw rows at the edges): the
 * bucket bound at or above the exact nearest-rank value, capped by the
 * largest latency (src/logs/latency-buckets.ts).
 */
export async function bucketedPercentiles(sql: SqlDriver, parts: Part[], upstreamId: string | null, count: number): Promise<Percentiles> {
  const counts = new Array<number>(LATENCY_BUCKETS).fill(0);
  let max = 0;
  for (const part of parts) {
    const { where, params } = partWhere(sql, part, upstreamId);
    const rollup = part.source.table === 'RequestLogMinute';
    const columns = LATENCY_COLUMNS.map((c, i) => `SUM(${rollup ? `"${c}"` : latencyBucketCase('"latencyMs"', i)}) AS "b${i}"`);
    const [row] = await sql.query(`SELECT ${columns.join(', ')}, MAX("${rollup ? 'latencyMax' : 'latencyMs'}") AS "max" FROM "${part.source.table}" WHERE ${where}`, params);
    for (let i = 0; i < LATENCY_BUCKETS; i++) counts[i]! += Number(row?.[`b${i}`] ?? 0);
    max = Math.max(max, Number(row?.max ?? 0));
  }
  const at = (p: number) => percentileFromBuckets(counts, count, p, max);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}
