// NUL and other control characters in names, reasons and search filters
// (text a database cannot hold; here the admin half, test/gateway/logs/log-rows.test.ts the request log's): BAD_USER_INPUT naming the field, never an
// internal error, and nothing changed, in memory or stored. PostgreSQL is the
// database that cannot hold a NUL at all, so both providers run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql } from '../../support/graphql-client.ts';
import { canaryKey, createUpstream, type TestUpstream } from '../proxy/support.ts';

const SET_STATUS = 'mutation($id: ID!, $reason: String) { setKeyStatus(id: $id, status: DISABLED, reason: $reason) { id status } }';

describe.each(PROVIDERS)('control characters in admin input (%s)', (provider) => {
  let t: TestGateway;
  let up: TestUpstream;
  let keyId: string;

  beforeAll(async () => {
    t = await startTestGateway({ provider });
    const key = canaryKey();
    up = await createUpstream(t, 'http://127.0.0.1:9', { name: 'ctl' }, [{ value: key, name: 'k1' }]);
    keyId = up.keyIds[key];
  });
  afterAll(async () => {
    await t?.close();
  });

  const expectBadInput = (res: Awaited<ReturnType<typeof gql>>, field: string) => {
    expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res.errors)).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe(field);
  };

  it('setKeyStatus with a NUL in the reason: BAD_USER_INPUT, key unchanged in memory and in the database', async () => {
    const storedBefore = await t.gateway.db.sql.query<{ status: string; statusReason: string | null }>('SELECT "status", "statusReason" FROM "ApiKey" WHERE "id" = ?', [keyId]);
    for (const reason of ['why\u0000not', 'bell\u0007', 'esc\u001b[31m']) {
      const res = await gql(t.url, SET_STATUS, { id: keyId, reason });
      expectBadInput(res, 'reason');
      expect(t.gateway.state.keys.get(keyId)?.status).toBe('ACTIVE');
    }
    const storedAfter = await t.gateway.db.sql.query('SELECT "status", "statusReason" FROM "ApiKey" WHERE "id" = ?', [keyId]);
    expect(storedAfter).toEqual(storedBefore);
    expect(storedBefore[0].status).toBe('ACTIVE');
    // A multi-line reason is still fine.
    const ok = await gql(t.url, SET_STATUS, { id: keyId, reason: 'line one\nline two' });
    expect(ok.errors).toBeUndefined();
    await gql(t.url, 'mutation($id: ID!) { setKeyStatus(id: $id, status: ACTIVE) { id } }', { id: keyId });
  });

  it('names with control characters: keys, tokens, rules', async () => {
    expectBadInput(await gql(t.url, 'mutation($u: ID!, $k: [NewKeyInput!]!) { addKeys(upstreamId: $u, keys: $k) { id } }', { u: up.id, k: [{ value: canaryKey(), name: 'a\u0000b' }] }), 'keys.0.name');
    expectBadInput(await gql(t.url, 'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token } }', { i: { name: 'tab\tname' } }), 'input.name');
    const rule = await gql(t.url, 'mutation($i: CreateRuleInput!) { createRule(input: $i) { id } }', {
      i: { name: 'r\u0000', actions: ['LOG'], condition: { status: { equals: 500 } } },
    });
    expect(rule.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(rule.errors?.[0]?.extensions?.field).toMatch(/name$/);
    expectBadInput(await gql(t.url, 'mutation($i: CreateUpstreamInput!) { createUpstream(input: $i) { id } }', { i: { name: 'x\u0000', baseUrl: 'http://127.0.0.1:9' } }), 'input.name');
  });

  it('search filters with a NUL: BAD_USER_INPUT naming the filter', async () => {
    expectBadInput(await gql(t.url, 'query($f: RequestLogFilter) { requestLogs(first: 5, filter: $f) { edges { node { id } } } }', { f: { text: 'x\u0000y' } }), 'filter.text');
    expectBadInput(await gql(t.url, 'query($f: RequestLogFilter) { requestLogs(first: 5, filter: $f) { edges { node { id } } } }', { f: { requestId: 'r\u0000' } }), 'filter.requestId');
    expectBadInput(await gql(t.url, 'query($s: String) { keys(first: 5, search: $s) { edges { node { id } } } }', { s: 'k\u0000' }), 'search');
  });
});

describe('a NUL in any argument', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ provider: PROVIDERS.includes('postgres') ? 'postgres' : 'sqlite' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('an id, inline or as a variable, is BAD_USER_INPUT naming the argument', async () => {
    const byVar = await gql(t.url, 'query($id: ID!) { key(id: $id) { id } }', { id: 'abc\u0000' });
    expect(byVar.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    const inline = await gql(t.url, 'query { upstream(id: "u\\u0000") { id } }');
    expect(inline.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });
});
