import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { PublishedRelations } from '../../../src/graphql/published-relations.ts';
import { spyGraphQL, type SpiedGraphQL } from './prisma-spy.ts';
import { logEvent, seedLogs, sseEvents, subscribed } from './support.ts';

// Operations are sent in-process to a Yoga built on a recording Prisma
// client, so these strings are not codegen documents.
const LOGS_WITH_RELATIONS = `query ($filter: RequestLogFilter, $first: Int, $after: String) {
  requestLogs(filter: $filter, first: $first, after: $after) {
    edges { node { id status key { name fingerprint upstream { name } } upstream { name keyCounts { total } } accessToken { name } } }
    pageInfo { endCursor hasNextPage }
  }
}`;
const LIVE_WITH_RELATIONS = `subscription { requestLogged { id key { name status upstream { name } } upstream { name } accessToken { name } } }`;
const UPSTREAMS_WITH_KEYS = `{ upstreams { name keyCounts { active } keys(first: 10) { edges { node { name upstream { name } } } } rules { name } } }`;

describe.each(PROVIDERS)('query counts and plans on %s', (provider) => {
  let t: TestGateway;
  let spy: SpiedGraphQL;
  let upstreamIds: string[];
  let keyIds: string[];
  let tokenId: string;

  beforeAll(async () => {
    t = await startTestGateway({ provider });
    const { services } = t.gateway;
    upstreamIds = [];
    keyIds = [];
    for (let u = 0; u < 5; u++) {
      const upstream = await services.upstreams.create({ name: `u${u}`, baseUrl: 'https://api.example.com' });
      upstreamIds.push(upstream.id);
      const keys = await services.keys.add(upstream.id, Array.from({ length: 12 }, (_, k) => ({ value: `sk-plan-${u}-${k}-0123456789abcdef` })));
      keyIds.push(...keys.map((k) => k.id));
    }
    const token = await services.tokens.create({ name: 'plans' });
    tokenId = token.accessToken.id;
    await seedLogs(
      t.gateway,
      Array.from({ length: 300 }, (_, i) => ({
        createdAt: Date.now() - (300 - i) * 1000,
        upstreamId: upstreamIds[i % 5],
        keyId: keyIds[i % keyIds.length],
        accessTokenId: i % 2 ? token.accessToken.id : null,
        status: i % 7 === 0 ? 500 : 200,
      })),
    );
    // Longer than any test here takes, so the counts below do not depend on the machine's speed.
    spy = await spyGraphQL(t, { relationTtlMs: 60_000 });
  });
  afterAll(async () => {
    await spy?.close();
    await t?.close();
  });

  async function count(query: string, variables?: Record<string, unknown>) {
    spy.queries.length = 0;
    const result = await spy.run(query, variables);
    expect(result.errors).toBeUndefined();
    return { result, statements: spy.queries.length };
  }

  it('loads 50 logs with their keys, upstreams and tokens in a constant number of queries', async () => {
    const fifty = await count(LOGS_WITH_RELATIONS, { first: 50 });
    const edges = (fifty.result.data!.requestLogs as { edges: Array<{ node: { key: { name: string; upstream: { name: string } } } }> }).edges;
    expect(edges).toHaveLength(50);
    expect(edges.every((e) => e.node.key.upstream.name.startsWith('u'))).toBe(true);
    const five = await count(LOGS_WITH_RELATIONS, { first: 5 });
    console.log(`[${provider}] requestLogs with relations: ${fifty.statements} SQL statements for 50 rows, ${five.statements} for 5`);
    expect(fifty.statements).toBe(five.statements);
    expect(fifty.statements).toBeLessThanOrEqual(6);
    const filtered = await count(LOGS_WITH_RELATIONS, { first: 50, filter: { upstreamId: upstreamIds[2], errorsOnly: true } });
    expect(filtered.statements).toBeLessThanOrEqual(6);
  });

  it('loads upstreams with key pages and rules without a query per upstream', async () => {
    const all = await count(UPSTREAMS_WITH_KEYS);
    expect((all.result.data!.upstreams as unknown[]).length).toBe(5);
    console.log(`[${provider}] upstreams with keys and rules: ${all.statements} SQL statements for 5 upstreams`);
    expect(all.statements).toBeLessThanOrEqual(5);
  });

  interface Live { id: string; key: { name: string; status: string; upstream: { name: string } } | null; upstream: { name: string } | null; accessToken: { name: string } | null }

  /** `n` in-process SSE subscribers to LIVE_WITH_RELATIONS, each listening on the bus before this returns. */
  async function liveSubscribers(n: number) {
    const streams: Array<AsyncGenerator<{ event: string; data: unknown }>> = [];
    for (let i = 0; i < n; i++) {
      const ready = subscribed(t.gateway.events, 'requestLog:created');
      streams.push(sseEvents(await spy.stream(LIVE_WITH_RELATIONS)));
      await ready;
    }
    return {
      /** The next `count` payloads of every subscriber. */
      async take(count: number): Promise<Live[][]> {
        return Promise.all(
          streams.map(async (stream) => {
            const got: Live[] = [];
            while (got.length < count) {
              const { value } = await stream.next();
              const frame = value as { event: string; data: { data?: { requestLogged: Live }; errors?: unknown } };
              expect(frame.data.errors).toBeUndefined();
              if (frame.event === 'next') got.push(frame.data.data!.requestLogged);
            }
            return got;
          }),
        );
      },
      close: () => Promise.all(streams.map((s) => s.return(undefined))),
    };
  }

  it('resolves published request logs\' relations with one query per model and row, shared by every subscriber', async () => {
    const live = await liveSubscribers(3);
    spy.relations.forget();
    spy.queries.length = 0;
    // 30 rows over three keys of one upstream, as one log-writer flush publishes them.
    const keys = keyIds.slice(0, 3);
    for (let i = 0; i < 30; i++) t.gateway.events.publish('requestLog:created', logEvent({ id: 10_000 + i, upstreamId: upstreamIds[0], keyId: keys[i % 3], accessTokenId: i % 2 ? tokenId : null }));
    const seen = await live.take(30);
    await live.close();
    for (const rows of seen) {
      expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 30 }, (_, i) => String(10_000 + i)));
      expect(rows.map((r) => r.key?.upstream.name)).toEqual(Array(30).fill('u0'));
      expect(new Set(rows.map((r) => r.key?.name)).size).toBe(3);
      expect(rows.map((r) => r.accessToken?.name ?? null)).toEqual(Array.from({ length: 30 }, (_, i) => (i % 2 ? 'plans' : null)));
    }
    const statements = spy.queries.map((q) => q.sql);
    console.log(`[${provider}] 3 subscribers x 30 published logs: ${statements.length} SQL statements for their relations`);
    // Pothos' own fallback reloads the log row with its relations for every subscriber and event (and these rows are not even stored).
    expect(statements.some((sql) => /RequestLog/.test(sql))).toBe(false);
    // Three keys (with their upstream), one upstream, one token: each loaded once.
    expect(statements.length).toBeLessThanOrEqual(8);
  });

  it('shows a key\'s new status on the next published log after the key changed', async () => {
    const live = await liveSubscribers(2);
    const keyId = keyIds[5]!;
    t.gateway.events.publish('requestLog:created', logEvent({ id: 20_000, keyId }));
    expect((await live.take(1)).map(([row]) => row!.key?.status)).toEqual(['ACTIVE', 'ACTIVE']);
    await t.gateway.services.keys.setStatus(keyId, { status: 'DISABLED', until: null, reason: 'plans' });
    // The state change reaches the loader through the bus; let it land before the next event.
    await new Promise((resolve) => setImmediate(resolve));
    t.gateway.events.publish('requestLog:created', logEvent({ id: 20_001, keyId }));
    expect((await live.take(1)).map(([row]) => row!.key?.status)).toEqual(['DISABLED', 'DISABLED']);
    await live.close();
    await t.gateway.services.keys.setStatus(keyId, { status: 'ACTIVE', until: null, reason: null });
  });

  it('loads a remembered row again once its time is up, and a missing one as null', async () => {
    const relations = new PublishedRelations(30);
    const query = { select: { id: true, name: true } };
    spy.queries.length = 0;
    const first = await relations.load<{ name: string }>('Upstream', spy.prisma.upstream as never, query, upstreamIds[1]!);
    await relations.load('Upstream', spy.prisma.upstream as never, query, upstreamIds[1]!);
    expect(first?.name).toBe('u1');
    expect(spy.queries).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 40));
    await relations.load('Upstream', spy.prisma.upstream as never, query, upstreamIds[1]!);
    expect(spy.queries).toHaveLength(2);
    expect(await relations.load('Upstream', spy.prisma.upstream as never, query, 'no-such-upstream')).toBeNull();
    expect(await relations.load('Upstream', spy.prisma.upstream as never, query, null)).toBeNull();
    expect(spy.queries).toHaveLength(3);
    // A selection without the id still finds its row.
    expect(await relations.load('Upstream', spy.prisma.upstream as never, { select: { name: true } }, upstreamIds[2]!)).toEqual({ id: upstreamIds[2], name: 'u2' });
  });

  it.runIf(provider === 'sqlite')('pages request logs on the (x, id) indexes: no sort, no full scan', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ upstreamId: 'u' }, /USING (COVERING )?INDEX RequestLog_upstreamId_id_idx \(upstreamId=\? AND id<\?\)/],
      [{ keyId: 'k' }, /USING (COVERING )?INDEX RequestLog_keyId_id_idx \(keyId=\? AND id<\?\)/],
      [{ accessTokenId: 't' }, /USING (COVERING )?INDEX RequestLog_accessTokenId_id_idx \(accessTokenId=\? AND id<\?\)/],
      [{ upstreamId: 'u', errorsOnly: true, text: 'chat' }, /USING (COVERING )?INDEX RequestLog_upstreamId_id_idx \(upstreamId=\? AND id<\?\)/],
      [{ statusMin: 500 }, /USING INTEGER PRIMARY KEY \(rowid<\?\)/],
      [{}, /USING INTEGER PRIMARY KEY \(rowid<\?\)/],
    ];
    const tokenId = (await t.gateway.db.prisma.accessToken.findFirstOrThrow()).id;
    for (const [given, index] of cases) {
      const filter = { ...given, upstreamId: given.upstreamId ? upstreamIds[0] : undefined, keyId: given.keyId ? keyIds[0] : undefined, accessTokenId: given.accessTokenId ? tokenId : undefined };
      // The second page: the cursor becomes an id bound on the same index.
      const first = await count(LOGS_WITH_RELATIONS, { first: 2, filter });
      const after = (first.result.data!.requestLogs as { pageInfo: { endCursor: string } }).pageInfo.endCursor;
      spy.queries.length = 0;
      await spy.run(LOGS_WITH_RELATIONS, { first: 2, after, filter });
      const main = spy.queries.find((q) => /FROM [`"]?(main[`"]?\.)?[`"]?RequestLog[`"]?/.test(q.sql) && /ORDER BY/.test(q.sql));
      expect(main, JSON.stringify(filter)).toBeDefined();
      const plan = await t.gateway.db.sql.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${main!.sql}`, main!.args as never);
      const details = plan.map((p) => p.detail).join('\n');
      expect(details, `${JSON.stringify(filter)}\n${details}`).toMatch(index);
      expect(details, `${JSON.stringify(filter)}\n${details}`).not.toMatch(/TEMP B-TREE/);
    }
  });
});
