// Request logs and stats on a million rows. Slow to seed (about 15 s on
// SQLite), so it runs only with KEYRELAY_PERF=1:
//   KEYRELAY_PERF=1 TEST_PROVIDERS=sqlite npx vitest run test/gateway/graphql/perf-1m.test.ts
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import { seedLogs } from './support.ts';

const ROWS = 1_000_000;
const enabled = process.env.KEYRELAY_PERF === '1';

describe.runIf(enabled).each(PROVIDERS)('a million request logs on %s', (provider) => {
  let t: TestGateway;
  let upstreams: string[];
  let keyIds: string[];
  const now = Date.now();

  beforeAll(async () => {
    t = await startTestGateway({ provider });
    upstreams = [];
    keyIds = [];
    for (const name of ['a', 'b', 'c', 'd']) {
      const u = await t.gateway.services.upstreams.create({ name, baseUrl: 'https://api.example.com' });
      upstreams.push(u.id);
      keyIds.push(...(await t.gateway.services.keys.add(u.id, Array.from({ length: 25 }, (_, i) => ({ value: `sk-perf-${name}-${i}-0123456789` })))).map((k) => k.id));
    }
    const started = performance.now();
    for (let offset = 0; offset < ROWS; offset += 100_000) {
      await seedLogs(
        t.gateway,
        Array.from({ length: 100_000 }, (_, j) => {
          const i = offset + j;
          return {
            createdAt: now - (ROWS - i) * 60, // a million rows over about 17 hours
            upstreamId: upstreams[i % 4],
            keyId: keyIds[i % 100],
            status: i % 50 === 0 ? 500 : i % 20 === 0 ? 429 : 200,
            latencyMs: (i * 7919) % 2000,
            error: i % 1000 === 0 ? 'connect ECONNREFUSED' : null,
            path: i % 9 === 0 ? '/v1/embeddings' : '/v1/chat/completions',
          };
        }),
      );
    }
    console.log(`[${provider}] seeded ${ROWS} rows in ${Math.round(performance.now() - started)} ms`);
  }, 600_000);
  afterAll(async () => {
    await t?.close();
  });

  async function timed(label: string, run: () => Promise<unknown>) {
    await run(); // warm
    const started = performance.now();
    await run();
    const ms = performance.now() - started;
    console.log(`[${provider}] ${label}: ${ms.toFixed(1)} ms`);
    return ms;
  }

  const Page = `query ($filter: RequestLogFilter, $after: String) { requestLogs(filter: $filter, first: 50, after: $after) { edges { node { id status key { name } upstream { name } } } pageInfo { endCursor } } }`;

  it('serves any page of any indexed filter quickly', async () => {
    const filters: Array<Record<string, unknown> | null> = [null, { upstreamId: upstreams[1] }, { keyId: keyIds[42] }, { statusMin: 500 }, { errorsOnly: true }, { upstreamId: upstreams[2], errorsOnly: true }, { text: 'ECONNREFUSED' }];
    for (const filter of filters) {
      const first = await gqlOk<{ requestLogs: { pageInfo: { endCursor: string } } }, unknown>(t.url, Page, { filter });
      const ms = await timed(`page 2 of ${JSON.stringify(filter)}`, () => gqlOk(t.url, Page, { filter, after: first.requestLogs.pageInfo.endCursor }));
      expect(ms).toBeLessThan(500);
    }
    // deep in the history: a cursor near the oldest rows
    const deep = Buffer.from(`GPC:N:${ROWS - 999_000}`).toString('base64');
    expect(await timed('deep page by key', () => gqlOk(t.url, Page, { filter: { keyId: keyIds[7] }, after: deep }))).toBeLessThan(500);
  });

  it('computes a day of stats', async () => {
    const Stats = `query { stats(bucketSeconds: 3600) { totals { requests errors } successRate latency { p50 p95 p99 } buckets { requests } upstreams { requests } keys { requests } keysByState { total } } }`;
    let result: unknown;
    const ms = await timed('stats over all rows', async () => {
      result = await gqlOk(t.url, Stats);
    });
    console.log(JSON.stringify((result as { stats: { totals: unknown; latency: unknown } }).stats.totals), JSON.stringify((result as { stats: { latency: unknown } }).stats.latency));
    expect(ms).toBeLessThan(15_000);
    const one = await timed('stats for one upstream, last hour', () => gqlOk(t.url, `query ($u: ID) { stats(upstreamId: $u, from: "${new Date(now - 3_600_000).toISOString()}") { totals { requests } latency { p99 } } }`, { u: upstreams[0] }));
    expect(one).toBeLessThan(2000);
  });
});
