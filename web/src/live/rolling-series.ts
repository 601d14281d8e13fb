/**
 * Request rate, success rate and latency percentiles over a fixed window of
 * buckets. Memory is fixed: a ring of `count` buckets, each with a latency
 * histogram of log-spaced bins (4 per doubling, about 19% wide), so 1,000
 * requests a second cost a counter increment each and nothing grows.
 */
const BINS = 100;
const PER_DOUBLING = 4;

function binOf(ms: number): number {
  return Math.min(BINS - 1, Math.max(0, Math.ceil(Math.log2(ms + 1) * PER_DOUBLING)));
}

function binUpper(bin: number): number {
  return Math.round(2 ** (bin / PER_DOUBLING) - 1);
}

interface Bucket {
  start: number;
  requests: number;
  errors: number;
  /** null for buckets seeded from `stats`, which has no per-bucket latency. */
  latency: Uint32Array | null;
}

export class RollingSeries {
  readonly #ring: Bucket[];

  constructor(
    readonly bucketMs: number,
    readonly count: number,
  ) {
    const now = this.#floor(Date.now());
    this.#ring = Array.from({ length: count }, (_, i) => ({ start: now - (count - 1 - i) * bucketMs, requests: 0, errors: 0, latency: null }));
  }

  #floor(ms: number): number {
    return Math.floor(ms / this.bucketMs) * this.bucketMs;
  }

  /** Moves the window so its last bucket holds `now`. */
  #advance(now: number): void {
    const start = this.#floor(now);
    let last = this.#ring[this.count - 1];
    while (last.start < start) {
      const recycled = this.#ring.shift()!;
      recycled.start = last.start + this.bucketMs;
      recycled.requests = 0;
      recycled.errors = 0;
      recycled.latency = null;
      this.#ring.push(recycled);
      last = recycled;
    }
  }

  #bucket(at: number): Bucket | undefined {
    this.#advance(Date.now());
    const index = this.count - 1 - Math.floor((this.#ring[this.count - 1].start - this.#floor(at)) / this.bucketMs);
    return this.#ring[index];
  }

  /** Seeds past buckets from the stats query (counts only). */
  seed(buckets: Array<{ start: string; requests: number; errors: number }>): void {
    for (const b of buckets) {
      const bucket = this.#bucket(Date.parse(b.start));
      if (!bucket || bucket.latency) continue;
      bucket.requests = b.requests;
      bucket.errors = b.errors;
    }
  }

  add(at: number, latencyMs: number, error: boolean): void {
    const bucket = this.#bucket(Math.min(at, Date.now()));
    if (!bucket) return;
    bucket.requests++;
    if (error) bucket.errors++;
    bucket.latency ??= new Uint32Array(BINS);
    bucket.latency[binOf(latencyMs)]++;
  }

  /** Requests and errors over the whole window (seeded and live). */
  totals(): { requests: number; errors: number } {
    this.#advance(Date.now());
    let requests = 0;
    let errors = 0;
    for (const b of this.#ring) {
      requests += b.requests;
      errors += b.errors;
    }
    return { requests, errors };
  }

  /** uPlot's columns: x (seconds), req/s, success %, p50, p95. */
  columns(): [number[], Array<number | null>, Array<number | null>, Array<number | null>, Array<number | null>] {
    this.#advance(Date.now());
    const perSecond = 1000 / this.bucketMs;
    const x: number[] = [];
    const rate: Array<number | null> = [];
    const success: Array<number | null> = [];
    const p50: Array<number | null> = [];
    const p95: Array<number | null> = [];
    for (const b of this.#ring) {
      x.push(b.start / 1000);
      rate.push(b.requests * perSecond);
      success.push(b.requests ? (100 * (b.requests - b.errors)) / b.requests : null);
      p50.push(quantile(b.latency, 0.5));
      p95.push(quantile(b.latency, 0.95));
    }
    return [x, rate, success, p50, p95];
  }
}

function quantile(histogram: Uint32Array | null, q: number): number | null {
  if (!histogram) return null;
  let total = 0;
  for (const n of histogram) total += n;
  if (!total) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let bin = 0; bin < BINS; bin++) {
    seen += histogram[bin];
    if (seen >= rank) return binUpper(bin);
  }
  return null;
}
