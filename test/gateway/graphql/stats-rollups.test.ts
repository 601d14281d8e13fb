// The per-minute rollups against the rows they count: stored through the log
// writer's own store (several batches sharing minutes, a refused row, a key
// deleted between batches in safe mode), the rollup table must equal a GROUP BY
// over the rows, and stats read from it must equal stats computed from the rows.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statsParts, statsService } from '../../../src/admin/stats.ts';
import { LATENCY_BOUNDS_MS, LATENCY_COLUMNS, latencyBucket, percentileFromBuckets } from '../../../src/logs/latency-buckets.ts';
import { rollupBackfillSql } from '../../../src/logs/log-rollup-backfill.ts';
import type { StoredRow } from '../../../src/logs/log-sql.ts';
import { openLogStore, type LogStore } from '../../../src/logs/log-store.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { seededRandom } from '../../support/seeded-random.ts';

const FROM = Date.UTC(2025, 6, 1, 10, 0, 0);
const MINUTE = 60_000;
const SPAN = 90 * MINUTE;

function row(n: number, at: number, upstreamId: string | null, keyId: string | null, status: number, latencyMs: number, error: string | null = null): StoredRow {
  return {
    id: 0, createdAt: at, requestId: `req-${n}`, upstreamId, keyId, accessTokenId: null, method: 'POST', path: '/v1/chat', status,
    outcome: status < 400 && !error ? 'ok' : 'upstream_error', latencyMs, overheadMs: 0.1, attempts: 1, bytesIn: 100 + (n % 7), bytesOut: 300 + (n % 11),
    clientIp: null, error, model: null, stream: false, promptTokens: n % 3 === 0 ? null : n % 50, completionTokens: n % 5, totalTokens: null,
    matchedRules: null, requestBody: null, responseBody: null, bodyTruncated: false,
  };
}

const SUMS = ['requests', 'errors', 'latencyMs', 'bytesIn', 'bytesOut', 'promptTokens', 'completionTokens', ...LATENCY_COLUMNS];

describe.each(PROVIDERS)('request-log rollups on %s', (provider) => {
  let t: TestGateway;
  let store: LogStore;
  let upstreams: string[];
  let keys: string[];
  const stored: StoredRow[] = [];

  beforeAll(async () => {
    t = await startTestGateway({ provider });
    const { services } = t.gateway;
    upstreams = [];
    keys = [];
    for (const name of ['one', 'two']) {
      const u = await services.upstreams.create({ name, baseUrl: 'https://api.example.com' });
      upstreams.push(u.id);
      keys.push(...(await services.keys.add(u.id, [{ value: `sk-roll-${name}-a-000000001111` }, { value: `sk-roll-${name}-b-000000002222` }])).map((k) => k.id));
    }
    store = openLogStore(t.gateway.db.target, 5000);
    const random = seededRandom(19);
    const batch = (count: number, offset: number, keyIds: Array<string | null>) =>
      Array.from({ length: count }, (_, i) => {
        const n = offset + i;
        const keyId = keyIds[n % keyIds.length]!;
        const upstreamId = keyId === null ? (n % 2 ? upstreams[1]! : null) : upstreams[keys.indexOf(keyId) >> 1]!;
        const latency = Math.floor(random() ** 3 * 20_000) + (n % 97 === 0 ? 130_000 : 0);
        return row(n, FROM + Math.floor(random() * SPAN), upstreamId, keyId, n % 10 === 0 ? 500 : n % 13 === 0 ? 429 : 200, latency, n % 41 === 0 ? 'connect ECONNREFUSED' : null);
      });
    // Batches over the same minutes, so groups are updated as well as inserted.
    for (let b = 0; b < 6; b++) {
      const rows = batch(700, b * 700, [...keys, null]);
      const { ids } = await store.write(rows, null, false);
      rows.forEach((r, i) => ids[i] !== 0 && stored.push(r));
    }
    // A key deleted, then a batch in safe mode still naming it: its rows are stored with no key.
    await services.keys.remove(keys[3]!);
    const late = batch(500, 10_000, keys);
    const { ids } = await store.write(late, null, true);
    late.forEach((r, i) => ids[i] !== 0 && stored.push({ ...r, keyId: r.keyId === keys[3] ? null : r.keyId }));
    for (const r of stored) if (r.keyId === keys[3]) r.keyId = null; // SET NULL on the rows stored before the delete
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
  });

  it('equal a GROUP BY over the rows, minute by minute and upstream, and minute by minute, upstream and key', async () => {
    const { sql } = t.gateway.db;
    const minute = provider === 'sqlite' ? `"createdAt" - ("createdAt" % 60000)` : `date_trunc('minute', "createdAt")`;
    const error = `SUM(CASE WHEN "status" >= 400 OR "error" IS NOT NULL THEN 1 ELSE 0 END)`;
    // SQLite gives the minute as a number (or bigint), PostgreSQL as a Date.
    const ms = (v: unknown) => (v instanceof Date ? v.getTime() : Number(v));
    const id = (r: Record<string, unknown>) => `${ms(r.minute)}|${r.upstreamId}|${r.keyId ?? null}`;
    const compare = (fromRows: Array<Record<string, unknown>>, fromRollups: Array<Record<string, unknown>>, columns: string[]) => {
      const rollups = new Map(fromRollups.map((r) => [id(r), r]));
      expect(fromRollups.length).toBe(fromRows.length);
      expect(fromRows.length).toBeGreaterThan(200);
      for (const r of fromRows) {
        const g = rollups.get(id(r));
        expect(g, id(r)).toBeDefined();
        for (const c of columns) expect(Number(g![c]), `${id(r)} ${c}`).toBe(Number(r[c]));
      }
      return rollups;
    };
    const perUpstream = compare(
      await sql.query(
        `SELECT ${minute} AS "minute", "upstreamId", COUNT(*) AS "requests", ${error} AS "errors", SUM("latencyMs") AS "latencyMs", MAX("latencyMs") AS "latencyMax",
                SUM("bytesIn") AS "bytesIn", SUM("bytesOut") AS "bytesOut", COALESCE(SUM("promptTokens"), 0) AS "promptTokens", COALESCE(SUM("completionTokens"), 0) AS "completionTokens"
           FROM "RequestLog" GROUP BY 1, 2`,
      ),
      await sql.query(`SELECT "minute", "upstreamId", ${SUMS.map((c) => `SUM("${c}") AS "${c}"`).join(', ')}, MAX("latencyMax") AS "latencyMax" FROM "RequestLogMinute" GROUP BY 1, 2`),
      ['requests', 'errors', 'latencyMs', 'latencyMax', 'bytesIn', 'bytesOut', 'promptTokens', 'completionTokens'],
    );
    compare(
      await sql.query(`SELECT ${minute} AS "minute", "upstreamId", "keyId", COUNT(*) AS "requests", ${error} AS "errors", SUM("latencyMs") AS "latencyMs" FROM "RequestLog" WHERE "keyId" IS NOT NULL GROUP BY 1, 2, 3`),
      await sql.query(`SELECT "minute", "upstreamId", "keyId", SUM("requests") AS "requests", SUM("errors") AS "errors", SUM("latencyMs") AS "latencyMs" FROM "RequestLogKeyMinute" WHERE "keyId" IS NOT NULL GROUP BY 1, 2, 3`),
      ['requests', 'errors', 'latencyMs'],
    );
    // The buckets, against the stored rows bucketed here.
    const counts = new Map<string, number[]>();
    for (const r of stored) {
      const k = `${r.createdAt - (r.createdAt % MINUTE)}|${r.upstreamId}|null`;
      if (!counts.has(k)) counts.set(k, new Array(LATENCY_COLUMNS.length).fill(0));
      counts.get(k)![latencyBucket(r.latencyMs)]!++;
    }
    expect(counts.size).toBe(perUpstream.size);
    for (const [k, c] of counts) expect(LATENCY_COLUMNS.map((col) => Number(perUpstream.get(k)![col]))).toEqual(c);
  });

  it('stats from the rollups equal stats from the rows; bucketed percentiles bound the exact ones', async () => {
    const stats = statsService(t.gateway.db.sql, t.gateway.state);
    const bucketed = statsService(t.gateway.db.sql, t.gateway.state, { exactPercentileRows: 0 });
    for (const upstreamId of [null, upstreams[1]!]) {
      // Whole minutes (rollups only), a partial last minute (rollups and rows), and a range off the minute (rows only).
      for (const [from, to, bucketSeconds] of [[FROM, FROM + SPAN, 600], [FROM - MINUTE, FROM + SPAN - 12_345, 300], [FROM + 1234, FROM + SPAN, 600]] as const) {
        const parts = statsParts(from, to, bucketSeconds * 1000).map((p) => p.source.table);
        const input = { from: new Date(from), to: new Date(to), bucketSeconds, upstreamId };
        const got = await stats(input);
        const mine = stored.filter((r) => r.createdAt >= from && r.createdAt < to && (!upstreamId || r.upstreamId === upstreamId));
        const isError = (r: StoredRow) => r.status >= 400 || r.error !== null;
        expect(got.totals).toEqual({
          requests: mine.length,
          errors: mine.filter(isError).length,
          avgLatencyMs: expect.closeTo(mine.reduce((s, r) => s + r.latencyMs, 0) / mine.length, 6),
          bytesIn: mine.reduce((s, r) => s + r.bytesIn, 0),
          bytesOut: mine.reduce((s, r) => s + r.bytesOut, 0),
          promptTokens: mine.reduce((s, r) => s + (r.promptTokens ?? 0), 0),
          completionTokens: mine.reduce((s, r) => s + (r.completionTokens ?? 0), 0),
        });
        got.buckets.forEach((b, i) => {
          const inBucket = mine.filter((r) => r.createdAt >= b.start.getTime() && r.createdAt < b.start.getTime() + bucketSeconds * 1000);
          expect(b.requests, `${parts} bucket ${i}`).toBe(inBucket.length);
          expect(b.errors).toBe(inBucket.filter(isError).length);
        });
        for (const k of got.keys) {
          const ofKey = mine.filter((r) => r.keyId === k.keyId);
          expect(k).toMatchObject({ requests: ofKey.length, errors: ofKey.filter(isError).length });
          expect(k.avgLatencyMs).toBeCloseTo(ofKey.reduce((s, r) => s + r.latencyMs, 0) / ofKey.length, 6);
        }
        expect(got.keys.map((k) => k.keyId).sort()).toEqual([...new Set(mine.map((r) => r.keyId).filter((k) => k !== null))].sort());
        expect(got.keys.some((k) => k.keyId === keys[3])).toBe(false);
        for (const u of got.upstreams) expect(u.requests).toBe(mine.filter((r) => r.upstreamId === u.upstreamId).length);

        const latencies = mine.map((r) => r.latencyMs).sort((a, b) => a - b);
        const exact = (p: number) => latencies[Math.max(1, Math.ceil(p * latencies.length)) - 1]!;
        expect(got.latency).toEqual({ p50: exact(0.5), p95: exact(0.95), p99: exact(0.99) });
        const approx = await bucketed(input);
        const counts = new Array(LATENCY_COLUMNS.length).fill(0);
        for (const v of latencies) counts[latencyBucket(v)]++;
        for (const [name, p] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) {
          const value = approx.latency[name]!;
          if (parts.includes('RequestLogMinute')) expect(value).toBe(percentileFromBuckets(counts, latencies.length, p, latencies.at(-1)!));
          else expect(value).toBe(exact(p)); // rows only: always exact
          expect(value).toBeGreaterThanOrEqual(exact(p));
          const bound = LATENCY_BOUNDS_MS.find((b) => b >= exact(p)) ?? latencies.at(-1)!;
          expect(value).toBeLessThanOrEqual(bound);
        }
      }
    }
  });

  it('the default window is 24 hours ending with the current minute (whole minutes); with only from, it ends now', async () => {
    const stats = statsService(t.gateway.db.sql, t.gateway.state);
    const before = Date.now();
    const whole = await stats({});
    expect(whole.to.getTime() % MINUTE).toBe(0);
    expect(whole.to.getTime()).toBeGreaterThanOrEqual(before);
    expect(whole.to.getTime() - before).toBeLessThan(MINUTE);
    expect(whole.to.getTime() - whole.from.getTime()).toBe(24 * 60 * MINUTE);
    expect(statsParts(whole.from.getTime(), whole.to.getTime(), whole.bucketSeconds * 1000).map((p) => p.source.table)).toEqual(['RequestLogMinute']);
    const live = await stats({ from: new Date(before - 5 * MINUTE + 1234), bucketSeconds: 10 });
    expect(live.to.getTime()).toBeGreaterThanOrEqual(before);
    expect(live.to.getTime() - Date.now()).toBeLessThanOrEqual(0);
  });

  it('the migration backfilled with the same SQL that rebuilds rollups', () => {
    const dir = provider === 'sqlite' ? 'prisma/migrations' : 'prisma/postgres/migrations';
    const name = readdirSync(dir).find((d) => d.endsWith('_stats_rollups'))!;
    const text = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
    for (const statement of rollupBackfillSql(provider)) expect(text).toContain(`${statement};`);
  });
});
