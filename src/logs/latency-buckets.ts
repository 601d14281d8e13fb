// The fixed latency buckets of the per-minute request-log rollups
// (RequestLogMinute): stats' percentiles over many rows come from summed
// bucket counts instead of sorting every row. Bounds in ms, 0 to 6 one by one,
// then 1-1.2-1.5-2-2.5-3-4-5-6-8 per decade up to 120 s, and one bucket above:
// a percentile read from them is the bound at or above the exact value (never
// below it, at most about 30% above it; exact up to 6 ms).

export const LATENCY_BOUNDS_MS: readonly number[] = [
  0, 1, 2, 3, 4, 5, 6, 8,
  10, 12, 15, 20, 25, 30, 40, 50, 60, 80,
  100, 120, 150, 200, 250, 300, 400, 500, 600, 800,
  1000, 1200, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000,
  10_000, 12_000, 15_000, 20_000, 25_000, 30_000, 40_000, 50_000, 60_000, 80_000,
  100_000, 120_000,
];

/** Buckets: one per bound (values above the previous bound, up to this one), and one above the last. */
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

/** The rollup's column per bucket: le8 counts latencies in (6, 8] ms (not cumulative); leInf those above 120 s. */
export const LATENCY_COLUMNS: readonly string[] = [...LATENCY_BOUNDS_MS.map((b) => `le${b}`), 'leInf'];

/** The bucket of a latency: a binary search over the bounds. */
export function latencyBucket(ms: number): number {
  let lo = 0;
  let hi = LATENCY_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= LATENCY_BOUNDS_MS[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** SQL giving 1 when `column` falls in bucket `i`, for aggregates over raw rows (the migration's backfill). */
export function latencyBucketCase(column: string, i: number): string {
  const hi = LATENCY_BOUNDS_MS[i];
  const lo = i === 0 ? undefined : LATENCY_BOUNDS_MS[i - 1];
  const conditions = [lo === undefined ? null : `${column} > ${lo}`, hi === undefined ? null : `${column} <= ${hi}`].filter(Boolean);
  return `CASE WHEN ${conditions.join(' AND ')} THEN 1 ELSE 0 END`;
}

/**
 * Nearest-rank percentile (the ceil(p × n)-th smallest) from bucket counts:
 * the bound of the bucket holding that rank, capped by the largest latency
 * seen (which also answers for the bucket above the last bound).
 */
export function percentileFromBuckets(counts: ArrayLike<number>, total: number, p: number, maxMs: number): number | null {
  if (total <= 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return i < LATENCY_BOUNDS_MS.length ? Math.min(LATENCY_BOUNDS_MS[i]!, maxMs) : maxMs;
  }
  return maxMs;
}
