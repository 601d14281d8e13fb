import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import type { KeyEventsQuery, RequestLogFilter, RequestLogsQuery } from '../../generated/graphql.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';
import { seedLogs, type SeedLog } from './support.ts';

const CreateUpstream = graphql(`mutation LogsCreateUpstream($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }`);
const AddKeys = graphql(`mutation LogsAddKeys($upstreamId: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $upstreamId, keys: $keys) { id } }`);
const CreateToken = graphql(`mutation LogsCreateToken($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { accessToken { id } } }`);
const CreateRule = graphql(`mutation LogsCreateRule($input: CreateRuleInput!) { createRule(input: $input) { id } }`);
const RequestLogs = graphql(`
  query RequestLogs($filter: RequestLogFilter, $first: Int, $after: String) {
    requestLogs(filter: $filter, first: $first, after: $after) {
      edges { cursor node { id requestId createdAt status path error matchedRules upstream { id } key { id } accessToken { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);
const RequestLogsBefore = graphql(`
  query RequestLogsBefore($last: Int, $before: String) {
    requestLogs(last: $last, before: $before) { edges { node { requestId } } pageInfo { hasPreviousPage startCursor } }
  }
`);
const SetKeysStatus = graphql(`
  mutation LogsSetKeysStatus($ids: [ID!]!, $status: KeyStatus!, $reason: String) { setKeysStatus(ids: $ids, status: $status, reason: $reason) { id status } }
`);
const KeyEvents = graphql(`
  query KeyEvents($keyId: ID, $upstreamId: ID, $first: Int, $after: String) {
    keyEvents(keyId: $keyId, upstreamId: $upstreamId, first: $first, after: $after) {
      edges { node { id from to reason actor keyName key { id } upstream { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const TOTAL = 10_000;
const BASE = Date.UTC(2025, 0, 1);

describe.each(PROVIDERS)('requestLogs and keyEvents on %s', (provider) => {
  let t: TestGateway;
  let upstreams: string[];
  let keys: string[][];
  let tokenId: string;
  let ruleIds: string[];
  let seed: Array<SeedLog & { requestId: string }>;

  async function pageAll(filter: RequestLogFilter | null, first = 500) {
    const seen: Array<{ requestId: string; createdAt: string }> = [];
    let after: string | null | undefined = null;
    for (let pages = 0; pages < 100; pages++) {
      const data: RequestLogsQuery = await gqlOk(t.url, RequestLogs, { filter, first, after });
      seen.push(...data.requestLogs.edges.map((e) => e.node));
      if (!data.requestLogs.pageInfo.hasNextPage) return seen;
      after = data.requestLogs.pageInfo.endCursor;
    }
    throw new Error('pagination did not end');
  }

  const expected = (keep: (row: SeedLog) => boolean) => seed.filter(keep).map((r) => r.requestId).reverse();

  beforeAll(async () => {
    t = await startTestGateway({ provider });
    upstreams = [];
    keys = [];
    for (const name of ['alpha', 'beta']) {
      const id = (await gqlOk(t.url, CreateUpstream, { input: { name, baseUrl: 'https://api.example.com' } })).createUpstream.id;
      upstreams.push(id);
      keys.push((await gqlOk(t.url, AddKeys, { upstreamId: id, keys: [{ value: `sk-${name}-one-000000000001` }, { value: `sk-${name}-two-000000000002` }] })).addKeys.map((k) => k.id));
    }
    tokenId = (await gqlOk(t.url, CreateToken, { input: { name: 'ci' } })).createAccessToken.accessToken.id;
    ruleIds = [];
    for (const name of ['r1', 'r2']) {
      ruleIds.push((await gqlOk(t.url, CreateRule, { input: { name, condition: { status: { min: 500 } }, actions: ['LOG'] } })).createRule.id);
    }
    const statuses = [200, 200, 201, 429, 500, 200, 404, 200, 503, 200];
    seed = Array.from({ length: TOTAL }, (_, i) => ({
      requestId: `seed-${i}`,
      createdAt: BASE + i * 1000,
      upstreamId: upstreams[i % 2],
      keyId: keys[i % 2]![(i >> 1) % 2],
      accessTokenId: i % 3 === 0 ? tokenId : null,
      status: statuses[i % statuses.length],
      error: i % 97 === 0 ? 'connect ECONNREFUSED' : null,
      path: i % 10 === 1 ? '/v1/Embeddings' : '/v1/chat/completions',
      // r1 alone, r2 alone, both, and an id that merely contains r1's id as a prefix
      matchedRules: i % 40 === 0 ? `${ruleIds[0]},${ruleIds[1]}` : i % 40 === 1 ? ruleIds[0] : i % 40 === 2 ? `x${ruleIds[1]},${ruleIds[0]}x` : i % 40 === 3 ? ruleIds[1] : null,
    }));
    const started = performance.now();
    await seedLogs(t.gateway, seed);
    console.log(`[${provider}] seeded ${TOTAL} logs in ${Math.round(performance.now() - started)} ms`);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('pages through 10,000 logs newest first, every row exactly once', async () => {
    const rows = await pageAll(null);
    expect(rows).toHaveLength(TOTAL);
    expect(new Set(rows.map((r) => r.requestId)).size).toBe(TOTAL);
    expect(rows.map((r) => r.requestId)).toEqual(expected(() => true));
    const times = rows.map((r) => Date.parse(r.createdAt));
    expect(times.every((time, i) => i === 0 || time <= times[i - 1]!)).toBe(true);
    // odd page sizes too
    expect((await pageAll(null, 333)).map((r) => r.requestId)).toEqual(expected(() => true));
  });

  it('pages backwards with last/before, and keeps going when the cursor row is deleted meanwhile', async () => {
    const all = expected(() => true);
    const first = await gqlOk(t.url, RequestLogs, { first: 10 });
    const tenth = first.requestLogs.pageInfo.endCursor;
    const back = await gqlOk(t.url, RequestLogsBefore, { last: 4, before: tenth });
    expect(back.requestLogs.edges.map((e) => e.node.requestId)).toEqual(all.slice(5, 9));
    expect(back.requestLogs.pageInfo.hasPreviousPage).toBe(true);

    // Retention deletes old rows while someone pages; the next page must still follow on.
    const page = await gqlOk(t.url, RequestLogs, { first: 3, after: tenth });
    const cursorRow = page.requestLogs.edges[2]!.node.id;
    await t.gateway.db.prisma.requestLog.delete({ where: { id: Number(cursorRow) } });
    const next = await gqlOk(t.url, RequestLogs, { first: 3, after: page.requestLogs.pageInfo.endCursor });
    expect(next.requestLogs.edges.map((e) => e.node.requestId)).toEqual(all.slice(13, 16));
    seed = seed.filter((r) => r.requestId !== all[12]);
  });

  it('filters by upstream, key, access token, status range, time range, rule, errors and text', async () => {
    const cases: Array<[RequestLogFilter, (r: SeedLog) => boolean]> = [
      [{ upstreamId: upstreams[0] }, (r) => r.upstreamId === upstreams[0]],
      [{ keyId: keys[1]![1] }, (r) => r.keyId === keys[1]![1]],
      [{ accessTokenId: tokenId }, (r) => r.accessTokenId === tokenId],
      [{ statusMin: 400, statusMax: 499 }, (r) => r.status! >= 400 && r.status! <= 499],
      [{ statusMin: 500 }, (r) => r.status! >= 500],
      [{ from: new Date(BASE + 2000 * 1000).toISOString(), to: new Date(BASE + 2999 * 1000).toISOString() }, (r) => r.createdAt >= BASE + 2_000_000 && r.createdAt <= BASE + 2_999_000],
      [{ matchedRuleId: ruleIds[0] }, (r) => !!r.matchedRules && r.matchedRules.split(',').includes(ruleIds[0]!)],
      [{ matchedRuleId: ruleIds[1] }, (r) => !!r.matchedRules && r.matchedRules.split(',').includes(ruleIds[1]!)],
      [{ errorsOnly: true }, (r) => r.status! >= 400 || r.error !== null],
      [{ text: 'embeddings' }, (r) => r.path!.toLowerCase().includes('embeddings')],
      [{ text: 'ECONNREFUSED' }, (r) => r.error !== null],
      [{ upstreamId: upstreams[0], errorsOnly: true, statusMin: 500 }, (r) => r.upstreamId === upstreams[0] && r.status! >= 500],
      [{ keyId: keys[0]![0], from: new Date(BASE + 5000 * 1000).toISOString() }, (r) => r.keyId === keys[0]![0] && r.createdAt >= BASE + 5_000_000],
      // A client's x-request-id, or a KeyEvent's requestId: the one request behind it.
      [{ requestId: 'seed-4321' }, (r) => (r as SeedLog & { requestId: string }).requestId === 'seed-4321'],
    ];
    for (const [filter, keep] of cases) {
      const want = expected(keep);
      expect(want.length, JSON.stringify(filter)).toBeGreaterThan(0);
      expect((await pageAll(filter)).map((r) => r.requestId), JSON.stringify(filter)).toEqual(want);
    }
  });

  it('resolves the upstream, key and access token of each row', async () => {
    const data = await gqlOk(t.url, RequestLogs, { first: 3 });
    for (const { node } of data.requestLogs.edges) {
      const row = seed.find((s) => s.requestId === node.requestId)!;
      expect(node.upstream?.id).toBe(row.upstreamId);
      expect(node.key?.id).toBe(row.keyId);
      expect(node.accessToken?.id ?? null).toBe(row.accessTokenId);
      expect(node.matchedRules).toEqual(row.matchedRules ? row.matchedRules.split(',') : []);
    }
  });

  it('names the filter field at fault', async () => {
    const range = await gql(t.url, RequestLogs, { filter: { statusMin: 500, statusMax: 400 } });
    expect(range.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.statusMin' });
    const text = await gql(t.url, RequestLogs, { filter: { text: '' } });
    expect(text.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.text' });
    const time = await gql(t.url, RequestLogs, { filter: { from: new Date(BASE + 10_000).toISOString(), to: new Date(BASE).toISOString() } });
    expect(time.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.from' });
    const id = await gql(t.url, RequestLogs, { filter: { requestId: '' } });
    expect(id.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.requestId' });
  });

  it('keeps the audit trail of key state changes, newest first, by key or upstream', async () => {
    const [a, b] = keys[0]!;
    await gqlOk(t.url, SetKeysStatus, { ids: [a!, b!], status: 'DISABLED', reason: 'maintenance' });
    await gqlOk(t.url, SetKeysStatus, { ids: [a!], status: 'ACTIVE', reason: 'back' });
    await gqlOk(t.url, SetKeysStatus, { ids: [keys[1]![0]!], status: 'BANNED', reason: 'leaked' });

    const forKey = await gqlOk(t.url, KeyEvents, { keyId: a });
    expect(forKey.keyEvents.edges.map((e) => e.node)).toMatchObject([
      { from: 'DISABLED', to: 'ACTIVE', reason: 'back', actor: 'ADMIN', key: { id: a } },
      { from: 'ACTIVE', to: 'DISABLED', reason: 'maintenance', actor: 'ADMIN', key: { id: a } },
    ]);
    const forUpstream = await gqlOk(t.url, KeyEvents, { upstreamId: upstreams[0] });
    expect(forUpstream.keyEvents.edges).toHaveLength(3);
    expect(forUpstream.keyEvents.edges.every((e) => e.node.upstream?.id === upstreams[0])).toBe(true);

    const seen: string[] = [];
    let after: string | null | undefined = null;
    do {
      const page: KeyEventsQuery = await gqlOk(t.url, KeyEvents, { first: 1, after });
      seen.push(...page.keyEvents.edges.map((e) => e.node.id));
      after = page.keyEvents.pageInfo.hasNextPage ? page.keyEvents.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toHaveLength(4);
    expect(new Set(seen).size).toBe(4);
    expect(seen.map(Number)).toEqual([...seen.map(Number)].sort((x, y) => y - x));
  });
});
