import type { SqlDriver } from '../db/sql-driver.ts';
import { UserInputError } from '../errors.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import { countKeys, type KeyCounts } from './key-counts.ts';
import { bucketedPercentiles, latencyPercentiles, type Percentiles } from './stats-percentiles.ts';
import { aggregate, mergeAggregates, MINUTES, partWhere, ROWS, type Aggregates, type Part, type Sums } from './stats-sources.ts';

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
const MINUTE_MS = 60_000;
const MAX_BUCKETS = 10_000;
const TOP_KEYS = 100;
/**
 * Up to this many requests in range, percentiles are exact (sorted raw rows:
 * about 0.6 s per million rows for the three points on SQLite, so at most
 * about 12 ms here); above it they come from the rollups' latency buckets.
 */
export const EXACT_PERCENTILE_ROWS = 20_000;

const ceilMinute = (ms: number) => Math.ceil(ms / MINUTE_MS) * MINUTE_MS;

/**
 * Whole minutes come from the per-minute rollups when every bucket edge falls
 * on a minute (`from` on a minute, buckets of whole minutes: the default range
 * and bucket sizes); a partial last minute, and any other range, from the rows.
 */
export function statsParts(from: number, to: number, bucketMs: number): Part[] {
  if (bucketMs % MINUTE_MS !== 0 || from % MINUTE_MS !== 0) return [{ source: ROWS, from, to }];
  const wholeEnd = to - (to % MINUTE_MS);
  const parts: Part[] = [];
  if (wholeEnd > from) parts.push({ source: MINUTES, from, to: wholeEnd });
  if (to > Math.max(from, wholeEnd)) parts.push({ source: ROWS, from: Math.max(from, wholeEnd), to });
  return parts;
}

const avg = (s: Sums) => (s.requests ? s.latency / s.requests : null);

/**
 * Aggregates over the request log, from its per-minute rollups where the range
 * allows (see statsParts) and from the rows elsewhere, plus key states from
 * memory. Errors are status >= 400 or a transport error, the same definition
 * the filters and subscriptions use.
 */
// size: longer because it is a factory of short closures over one shared state; each closure stays small.
export function statsService(sql: SqlDriver, state: GatewayState, opts: { exactPercentileRows?: number } = {}) {
  const exactRows = opts.exactPercentileRows ?? EXACT_PERCENTILE_ROWS;
  // size: longer because the totals, series and per-key sums share one validated window and run in one pass.
  return async function stats(input: StatsInput): Promise<Stats> {
    // The default window (no from, no to) ends with the current minute, so it is whole minutes and rollups
    // answer all of it; a window with only `from` ends now, as before (a live chart's last bucket is now).
    const to = input.to ?? new Date(input.from ? Date.now() : ceilMinute(Date.now()));
    const from = input.from ?? new Date(to.getTime() - DAY_MS);
    if (from >= to) throw new UserInputError('from: must be before to', 'from');
    const span = to.getTime() - from.getTime();
    const bucketSeconds = input.bucketSeconds ?? defaultBucket(span);
    if (!Number.isInteger(bucketSeconds) || bucketSeconds < 1) throw new UserInputError('bucketSeconds: must be a positive whole number', 'bucketSeconds');
    if (span / (bucketSeconds * 1000) > MAX_BUCKETS) throw new UserInputError(`bucketSeconds: gives more than ${MAX_BUCKETS} buckets for this range`, 'bucketSeconds');

    const bucketMs = bucketSeconds * 1000;
    const start = from.getTime();
    const upstreamId = input.upstreamId || null;
    const parts = statsParts(start, to.getTime(), bucketMs);
    // With one part the busiest keys are cut in SQL; parts are merged first.
    const keyLimit = parts.length === 1 ? TOP_KEYS : null;
    let sums: Aggregates | null = null;
    for (const part of parts) {
      const a = await aggregate(sql, part, upstreamId, start, bucketMs, keyLimit);
      sums = sums === null ? a : mergeAggregates(sums, a);
    }
    const { buckets: byIndex, upstreams, keys } = sums!;

    const totals: Totals = { requests: 0, errors: 0, avgLatencyMs: null, bytesIn: 0, bytesOut: 0, promptTokens: 0, completionTokens: 0 };
    let latencySum = 0;
    for (const b of byIndex.values()) {
      totals.requests += b.requests;
      totals.errors += b.errors;
      latencySum += b.latency;
      totals.bytesIn += b.bytesIn;
      totals.bytesOut += b.bytesOut;
      totals.promptTokens += b.promptTokens;
      totals.completionTokens += b.completionTokens;
    }
    if (totals.requests) totals.avgLatencyMs = latencySum / totals.requests;
    const buckets: Stats['buckets'] = [];
    for (let i = 0; i * bucketMs < span; i++) {
      const row = byIndex.get(i);
      buckets.push({ start: new Date(start + i * bucketMs), requests: row?.requests ?? 0, errors: row?.errors ?? 0 });
    }

    let latency: Percentiles;
    if (totals.requests <= exactRows || parts.every((p) => p.source === ROWS)) {
      const { where, params } = partWhere(sql, { source: ROWS, from: start, to: to.getTime() }, upstreamId);
      latency = await latencyPercentiles(sql, where, params, totals.requests);
    } else {
      latency = await bucketedPercentiles(sql, parts, upstreamId, totals.requests);
    }
    const byRequests = <K>(m: Map<K, Sums>) => [...m].sort((a, b) => b[1].requests - a[1].requests);

    return {
      from,
      to,
      bucketSeconds,
      totals,
      successRate: totals.requests ? (totals.requests - totals.errors) / totals.requests : null,
      latency,
      buckets,
      upstreams: byRequests(upstreams).map(([id, s]) => ({
        upstreamId: id,
        upstreamName: id ? (state.upstreamsById.get(id)?.config.name ?? null) : null,
        requests: s.requests,
        errors: s.errors,
        avgLatencyMs: avg(s),
      })),
      keys: byRequests(keys)
        .slice(0, TOP_KEYS)
        .map(([id, s]) => {
          const key = state.keys.get(id);
          return { keyId: id, keyName: key?.name ?? null, fingerprint: key?.fingerprint ?? null, requests: s.requests, errors: s.errors, avgLatencyMs: avg(s) };
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
