import type { SqlDriver, SqlValue } from '../db/sql-driver.ts';
import { UserInputError } from '../errors.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import { countKeys, type KeyCounts } from './key-counts.ts';
import { latencyPercentiles, type Percentiles } from './stats-percentiles.ts';

export interface StatsInput {
  from?: Date | null;
  to?: Date | null;
  upstreamId?: string | null;
  bucketSeconds?: number | null;
}

export interface Totals {
  requests: number;
  errors: number;
  avgLatencyMs: number | null;
  bytesIn: number;
  bytesOut: number;
  promptTokens: number;
  completionTokens: number;
}

export interface Stats {
  from: Date;
  to: Date;
  bucketSeconds: number;
  totals: Totals;
  successRate: number | null;
  latency: Percentiles;
  buckets: Array<{ start: Date; requests: number; errors: number }>;
  upstreams: Array<{ upstreamId: string | null; upstreamName: string | null; requests: number; errors: number; avgLatencyMs: number | null }>;
  keys: Array<{ keyId: string | null; keyName: string | null; fingerprint: string | null; requests: number; errors: number; avgLatencyMs: number | null }>;
  keysByState: KeyCounts;
}

const DAY_MS = 86_400_000;
const MAX_BUCKETS = 10_000;
const TOP_KEYS = 100;
const ERROR = `CASE WHEN "status" >= 400 OR "error" IS NOT NULL THEN 1 ELSE 0 END`;

const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/**
 * Aggregates over the request log in SQL (one scan per grouping, on the
 * createdAt index), plus key states from memory. Errors are status >= 400 or a
 * transport error, the same definition the filters and subscriptions use.
 */
// size: longer because it is a factory of short closures over one shared state; each closure stays small.
export function statsService(sql: SqlDriver, state: GatewayState) {
  // size: longer because the totals, series and per-key queries share one validated window and run in one pass.
  return async function stats(input: StatsInput): Promise<Stats> {
    const to = input.to ?? new Date();
    const from = input.from ?? new Date(to.getTime() - DAY_MS);
    if (from >= to) throw new UserInputError('from: must be before to', 'from');
    const span = to.getTime() - from.getTime();
    const bucketSeconds = input.bucketSeconds ?? defaultBucket(span);
    if (!Number.isInteger(bucketSeconds) || bucketSeconds < 1) throw new UserInputError('bucketSeconds: must be a positive whole number', 'bucketSeconds');
    if (span / (bucketSeconds * 1000) > MAX_BUCKETS) throw new UserInputError(`bucketSeconds: gives more than ${MAX_BUCKETS} buckets for this range`, 'bucketSeconds');

    let where = `"createdAt" >= ? AND "createdAt" < ?`;
    const params: SqlValue[] = [sql.time(from.getTime()), sql.time(to.getTime())];
    if (input.upstreamId) {
      // SQLite has no statistics to weigh the upstream index against the time
      // range; the unary + keeps it on createdAt, so the cost follows the range.
      where += sql.provider === 'sqlite' ? ` AND +"upstreamId" = ?` : ` AND "upstreamId" = ?`;
      params.push(input.upstreamId);
    }

    // Totals are the sum of the buckets: one scan for both. The bucket bounds
    // are integers we computed, inlined so SQLite divides integers (bound
    // numbers arrive as REAL and every row would be its own group).
    const bucketMs = bucketSeconds * 1000;
    const start = from.getTime();
    const bucketExpr = sql.provider === 'sqlite' ? `("createdAt" - ${start}) / ${bucketMs}` : `FLOOR((EXTRACT(EPOCH FROM "createdAt") * 1000 - ${start}) / ${bucketMs})`;
    const bucketRows = await sql.query(
      `SELECT ${bucketExpr} AS "n", COUNT(*) AS "requests", SUM(${ERROR}) AS "errors", SUM("latencyMs") AS "latency", SUM("bytesIn") AS "bytesIn",
              SUM("bytesOut") AS "bytesOut", SUM("promptTokens") AS "promptTokens", SUM("completionTokens") AS "completionTokens"
         FROM "RequestLog" WHERE ${where} GROUP BY 1`,
      params,
    );
    const totals: Totals = { requests: 0, errors: 0, avgLatencyMs: null, bytesIn: 0, bytesOut: 0, promptTokens: 0, completionTokens: 0 };
    let latencySum = 0;
    const byIndex = new Map<number, { requests: number; errors: number }>();
    for (const row of bucketRows) {
      const requests = num(row.requests);
      const errors = num(row.errors);
      byIndex.set(num(row.n), { requests, errors });
      totals.requests += requests;
      totals.errors += errors;
      latencySum += num(row.latency);
      totals.bytesIn += num(row.bytesIn);
      totals.bytesOut += num(row.bytesOut);
      totals.promptTokens += num(row.promptTokens);
      totals.completionTokens += num(row.completionTokens);
    }
    if (totals.requests) totals.avgLatencyMs = latencySum / totals.requests;
    const buckets: Stats['buckets'] = [];
    for (let i = 0; i * bucketMs < span; i++) {
      const row = byIndex.get(i);
      buckets.push({ start: new Date(start + i * bucketMs), requests: row?.requests ?? 0, errors: row?.errors ?? 0 });
    }

    const upstreamRows = await sql.query(
      `SELECT "upstreamId" AS "id", COUNT(*) AS "requests", SUM(${ERROR}) AS "errors", AVG("latencyMs") AS "avgLatency"
         FROM "RequestLog" WHERE ${where} GROUP BY "upstreamId" ORDER BY 2 DESC`,
      params,
    );
    const keyRows = await sql.query(
      `SELECT "keyId" AS "id", COUNT(*) AS "requests", SUM(${ERROR}) AS "errors", AVG("latencyMs") AS "avgLatency"
         FROM "RequestLog" WHERE ${where} AND "keyId" IS NOT NULL GROUP BY "keyId" ORDER BY 2 DESC LIMIT ${TOP_KEYS}`,
      params,
    );

    return {
      from,
      to,
      bucketSeconds,
      totals,
      successRate: totals.requests ? (totals.requests - totals.errors) / totals.requests : null,
      latency: await latencyPercentiles(sql, where, params, totals.requests),
      buckets,
      upstreams: upstreamRows.map((r) => {
        const id = (r.id as string | null) ?? null;
        return { upstreamId: id, upstreamName: id ? (state.upstreamsById.get(id)?.config.name ?? null) : null, requests: num(r.requests), errors: num(r.errors), avgLatencyMs: numOrNull(r.avgLatency) };
      }),
      keys: keyRows.map((r) => {
        const key = state.keys.get(r.id as string);
        return { keyId: r.id as string, keyName: key?.name ?? null, fingerprint: key?.fingerprint ?? null, requests: num(r.requests), errors: num(r.errors), avgLatencyMs: numOrNull(r.avgLatency) };
      }),
      keysByState: countKeys(state, input.upstreamId ?? null),
    };
  };
}

/** About 60-300 buckets for common ranges: a minute for an hour, 5 minutes for a day, an hour for a week. */
function defaultBucket(spanMs: number): number {
  for (const s of [60, 300, 900, 3600, 21_600, 86_400]) if (spanMs / (s * 1000) <= 300) return s;
  return Math.ceil(spanMs / 1000 / 300);
}
