import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';
import { seedLogs, type SeedLog } from './support.ts';

const Stats = graphql(`
  query Stats($from: DateTime, $to: DateTime, $upstreamId: ID, $bucketSeconds: Int) {
    stats(from: $from, to: $to, upstreamId: $upstreamId, bucketSeconds: $bucketSeconds) {
      from to bucketSeconds successRate
      totals { requests errors avgLatencyMs bytesIn bytesOut }
      latency { p50 p95 p99 }
      buckets { start requests errors }
      upstreams { upstreamId upstreamName requests errors avgLatencyMs }
      keys { keyId keyName fingerprint requests errors }
      keysByState { total active disabled banned exhausted }
    }
  }
`);

const FROM = Date.UTC(2025, 5, 1, 12, 0, 0);
const HOUR = 3_600_000;

/** Nearest rank: the ceil(p × n)-th smallest. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1]!;
}

describe.each(PROVIDERS)('stats on %s', (provider) => {
  let t: TestGateway;
  let upstreams: string[];
  let keys: string[];
  let rows: SeedLog[];

  beforeAll(async () => {
    t = await startTestGateway({ provider });
    const { services } = t.gateway;
    upstreams = [];
    keys = [];
    for (const name of ['one', 'two']) {
      const u = await services.upstreams.create({ name, baseUrl: 'https://api.example.com' });
      upstreams.push(u.id);
      keys.push(...(await services.keys.add(u.id, [{ value: `sk-stats-${name}-a-000000001111` }, { value: `sk-stats-${name}-b-000000002222` }])).map((k) => k.id));
    }
    await services.keys.setStatus(keys[1]!, { status: 'DISABLED', reason: 'test' });
    await services.keys.setStatus(keys[3]!, { status: 'BANNED' });
    // 3 hours of traffic plus rows just outside the range on both sides
    rows = Array.from({ length: 1800 }, (_, i) => ({
      createdAt: FROM + i * 6000,
      upstreamId: upstreams[i % 3 === 0 ? 1 : 0],
      keyId: keys[i % 4],
      status: i % 10 === 0 ? 500 : i % 15 === 0 ? 429 : 200,
      error: i % 77 === 0 ? 'connect ECONNREFUSED' : null,
      latencyMs: (i * 37) % 1009,
    }));
    await seedLogs(t.gateway, [...rows, { createdAt: FROM - 1, latencyMs: 99_999 }, { createdAt: FROM + 3 * HOUR, latencyMs: 99_999 }]);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('totals, success rate, percentiles, buckets, per upstream and per key', async () => {
    const { stats } = await gqlOk(t.url, Stats, { from: new Date(FROM).toISOString(), to: new Date(FROM + 3 * HOUR).toISOString(), bucketSeconds: 1800 });
    const isError = (r: SeedLog) => r.status! >= 400 || r.error !== null;
    const errors = rows.filter(isError).length;
    expect(stats.totals.requests).toBe(1800);
    expect(stats.totals.errors).toBe(errors);
    expect(stats.successRate).toBeCloseTo((1800 - errors) / 1800, 10);
    expect(stats.totals.avgLatencyMs).toBeCloseTo(rows.reduce((s, r) => s + r.latencyMs!, 0) / 1800, 6);
    const latencies = rows.map((r) => r.latencyMs!);
    expect(stats.latency).toEqual({ p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), p99: percentile(latencies, 0.99) });

    expect(stats.bucketSeconds).toBe(1800);
    expect(stats.buckets).toHaveLength(6);
    stats.buckets.forEach((b, i) => {
      const inBucket = rows.filter((r) => r.createdAt >= FROM + i * 1_800_000 && r.createdAt < FROM + (i + 1) * 1_800_000);
      expect(b).toEqual({ start: new Date(FROM + i * 1_800_000).toISOString(), requests: inBucket.length, errors: inBucket.filter(isError).length });
    });

    for (const [index, id] of upstreams.entries()) {
      const mine = rows.filter((r) => r.upstreamId === id);
      expect(stats.upstreams.find((u) => u.upstreamId === id)).toMatchObject({ upstreamName: index ? 'two' : 'one', requests: mine.length, errors: mine.filter(isError).length });
    }
    expect(stats.keys).toHaveLength(4);
    for (const k of stats.keys) {
      const mine = rows.filter((r) => r.keyId === k.keyId);
      expect(k).toMatchObject({ requests: mine.length, errors: mine.filter(isError).length });
      expect(k.fingerprint).toMatch(/^…\d{4}$/);
    }
    expect(stats.keysByState).toEqual({ total: 4, active: 2, disabled: 1, banned: 1, exhausted: 0 });
  });

  it('narrows to one upstream, and fills empty buckets', async () => {
    const { stats } = await gqlOk(t.url, Stats, { from: new Date(FROM - HOUR).toISOString(), to: new Date(FROM + HOUR).toISOString(), upstreamId: upstreams[1], bucketSeconds: 600 });
    const mine = rows.filter((r) => r.upstreamId === upstreams[1] && r.createdAt < FROM + HOUR);
    expect(stats.totals.requests).toBe(mine.length);
    expect(stats.buckets).toHaveLength(12);
    expect(stats.buckets.slice(0, 5).every((b) => b.requests === 0)).toBe(true);
    expect(stats.buckets[5]!.requests).toBe(0); // the row 1 ms before FROM belongs to no upstream
    expect(stats.buckets.slice(6).reduce((s, b) => s + b.requests, 0)).toBe(mine.length);
    expect(stats.upstreams).toHaveLength(1);
    expect(stats.keysByState).toEqual({ total: 2, active: 1, disabled: 0, banned: 1, exhausted: 0 });
    expect(stats.latency.p99).toBe(percentile(mine.map((r) => r.latencyMs!), 0.99));
  });

  it('answers an empty range with zeros and nulls, and names bad arguments', async () => {
    const { stats } = await gqlOk(t.url, Stats, { from: new Date(FROM - 10 * HOUR).toISOString(), to: new Date(FROM - 9 * HOUR).toISOString() });
    expect(stats.totals.requests).toBe(0);
    expect(stats.successRate).toBeNull();
    expect(stats.latency).toEqual({ p50: null, p95: null, p99: null });
    expect(stats.buckets.every((b) => b.requests === 0)).toBe(true);
    const backwards = await gql(t.url, Stats, { from: new Date(FROM).toISOString(), to: new Date(FROM - 1).toISOString() });
    expect(backwards.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from' });
    const tooMany = await gql(t.url, Stats, { from: new Date(FROM).toISOString(), to: new Date(FROM + 30 * 24 * HOUR).toISOString(), bucketSeconds: 1 });
    expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'bucketSeconds' });
  });
});
