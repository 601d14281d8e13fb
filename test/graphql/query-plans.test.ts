import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { spyGraphQL, type SpiedGraphQL } from './prisma-spy.ts';
import { seedLogs } from './support.ts';

// Operations are sent in-process to a Yoga built on a recording Prisma
// client, so these strings are not codegen documents.
const LOGS_WITH_RELATIONS = `query ($filter: RequestLogFilter, $first: Int, $after: String) {
  requestLogs(filter: $filter, first: $first, after: $after) {
    edges { node { id status key { name fingerprint upstream { name } } upstream { name keyCounts { total } } accessToken { name } } }
    pageInfo { endCursor hasNextPage }
  }
}`;
const UPSTREAMS_WITH_KEYS = `{ upstreams { name keyCounts { active } keys(first: 10) { edges { node { name upstream { name } } } } rules { name } } }`;

describe.each(PROVIDERS)('query counts and plans on %s', (provider) => {
  let t: TestGateway;
  let spy: SpiedGraphQL;
  let upstreamIds: string[];
  let keyIds: string[];

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
    spy = await spyGraphQL(t);
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
