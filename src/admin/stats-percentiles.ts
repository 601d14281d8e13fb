import type { SqlDriver, SqlValue } from '../db/sql-driver.ts';

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
