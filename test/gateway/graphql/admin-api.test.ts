import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';

const CreateUpstream = graphql(`
  mutation CreateUpstream($input: CreateUpstreamInput!) {
    createUpstream(input: $input) { id name baseUrl strategy auth { type name } timeoutMs headers bodyLogging allowAnonymous enabled }
  }
`);
const UpdateUpstream = graphql(`
  mutation UpdateUpstream($id: ID!, $input: UpdateUpstreamInput!) { updateUpstream(id: $id, input: $input) { id name strategy maxRetries } }
`);
const DeleteUpstream = graphql(`mutation DeleteUpstream($id: ID!) { deleteUpstream(id: $id) }`);
const Upstreams = graphql(`query Upstreams { upstreams { id name } }`);
const UpstreamByName = graphql(`query UpstreamByName($name: String) { upstream(name: $name) { id name rules { id } } }`);
const AddKeys = graphql(`
  mutation AddKeys($upstreamId: ID!, $keys: [NewKeyInput!]!) {
    addKeys(upstreamId: $upstreamId, keys: $keys) { id name fingerprint status weight quota used upstream { name } }
  }
`);
const Keys = graphql(`
  query Keys($upstreamId: ID, $status: KeyStatus, $first: Int, $after: String) {
    keys(upstreamId: $upstreamId, status: $status, first: $first, after: $after) {
      edges { cursor node { id name fingerprint status } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);
const SetKeyStatus = graphql(`
  mutation SetKeyStatus($id: ID!, $status: KeyStatus!, $until: DateTime, $reason: String) {
    setKeyStatus(id: $id, status: $status, until: $until, reason: $reason) { id status statusReason disabledUntil }
  }
`);
const DeleteKey = graphql(`mutation DeleteKey($id: ID!) { deleteKey(id: $id) }`);
const CreateRule = graphql(`
  mutation CreateRule($input: CreateRuleInput!) {
    createRule(input: $input) { id name condition actions threshold windowSeconds disableForSeconds upstreamId }
  }
`);
const UpdateRule = graphql(`mutation UpdateRule($id: ID!, $input: UpdateRuleInput!) { updateRule(id: $id, input: $input) { id name priority } }`);
const DeleteRule = graphql(`mutation DeleteRule($id: ID!) { deleteRule(id: $id) }`);
const Rules = graphql(`query Rules($upstreamId: ID) { rules(upstreamId: $upstreamId) { id name } }`);
const CreateAccessToken = graphql(`
  mutation CreateAccessToken($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token accessToken { id name upstreamIds prefix } } }
`);
const AccessTokens = graphql(`query AccessTokens { accessTokens { id name prefix enabled } }`);

const SECRET_A = 'sk-canary-aaaaaaaaaaaaaaaaaaaaaaaa1111';
const SECRET_B = 'sk-canary-bbbbbbbbbbbbbbbbbbbbbbbb2222';

describe.each(PROVIDERS)('core admin API on %s', (provider) => {
  let t: TestGateway;
  const responses: string[] = [];
  const call: typeof gql = async (...args) => {
    const res = await gql(...args);
    responses.push(res.text);
    return res;
  };

  beforeAll(async () => {
    t = await startTestGateway({ provider });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('rejects operations without the admin token with 401 and a JSON error', async () => {
    const res = await gql(t.url, Upstreams, {}, { token: null });
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const wrong = await gql(t.url, Upstreams, {}, { token: 'not-the-token' });
    expect(wrong.status).toBe(401);
  });

  it('creates, reads, updates and deletes upstreams, keys, rules and tokens', async () => {
    const created = await call(t.url, CreateUpstream, {
      input: { name: 'openai', baseUrl: 'http://127.0.0.1:9/v1', strategy: 'ROUND_ROBIN', auth: { type: 'BEARER' }, headers: { 'x-team': 'a' } },
    });
    expect(created.errors).toBeUndefined();
    const upstream = created.data!.createUpstream;
    expect(upstream).toMatchObject({ name: 'openai', strategy: 'ROUND_ROBIN', auth: { type: 'BEARER', name: null }, headers: { 'x-team': 'a' }, bodyLogging: 'ERRORS', allowAnonymous: false });

    const updated = await gqlOk(t.url, UpdateUpstream, { id: upstream.id, input: { strategy: 'WEIGHTED', maxRetries: 4 } });
    expect(updated.updateUpstream).toMatchObject({ name: 'openai', strategy: 'WEIGHTED', maxRetries: 4 });
    expect((await gqlOk(t.url, UpstreamByName, { name: 'openai' })).upstream?.id).toBe(upstream.id);

    const added = await call(t.url, AddKeys, { upstreamId: upstream.id, keys: [{ value: SECRET_A, name: 'a', weight: 2, quota: 100 }, { value: SECRET_B }] });
    expect(added.errors).toBeUndefined();
    expect(added.data!.addKeys).toHaveLength(2);
    expect(added.data!.addKeys[0]).toMatchObject({ name: 'a', fingerprint: '…1111', status: 'ACTIVE', weight: 2, quota: 100, used: 0, upstream: { name: 'openai' } });
    // The same key again is skipped, not duplicated.
    const again = await gqlOk(t.url, AddKeys, { upstreamId: upstream.id, keys: [{ value: SECRET_A }] });
    expect(again.addKeys).toHaveLength(0);
    expect(t.gateway.state.upstreamsById.get(upstream.id)?.keys.size).toBe(2);

    const page1 = await gqlOk(t.url, Keys, { upstreamId: upstream.id, first: 1 });
    expect(page1.keys.edges).toHaveLength(1);
    expect(page1.keys.pageInfo.hasNextPage).toBe(true);
    const page2 = await gqlOk(t.url, Keys, { upstreamId: upstream.id, first: 1, after: page1.keys.pageInfo.endCursor });
    expect(page2.keys.edges).toHaveLength(1);
    expect(page2.keys.edges[0]!.node.id).not.toBe(page1.keys.edges[0]!.node.id);

    const keyId = added.data!.addKeys[0]!.id;
    const until = new Date(Date.now() + 60_000).toISOString();
    const disabled = await gqlOk(t.url, SetKeyStatus, { id: keyId, status: 'DISABLED', until, reason: 'maintenance' });
    expect(disabled.setKeyStatus).toMatchObject({ status: 'DISABLED', statusReason: 'maintenance', disabledUntil: until });
    expect(t.gateway.state.keys.get(keyId)?.status).toBe('DISABLED');
    expect((await gqlOk(t.url, Keys, { upstreamId: upstream.id, status: 'DISABLED' })).keys.edges).toHaveLength(1);
    const events = await t.gateway.db.prisma.keyEvent.findMany({ where: { keyId } });
    expect(events).toMatchObject([{ fromStatus: 'ACTIVE', toStatus: 'DISABLED', actor: 'ADMIN', reason: 'maintenance' }]);

    const rule = await gqlOk(t.url, CreateRule, {
      input: { upstreamId: upstream.id, name: 'rate limited', condition: { status: { equals: 429 } }, actions: ['DISABLE_KEY'], disableForSeconds: 60 },
    });
    expect(rule.createRule).toMatchObject({ name: 'rate limited', condition: { status: { equals: 429 } }, actions: ['DISABLE_KEY'], threshold: 1, upstreamId: upstream.id });
    const globalRule = await gqlOk(t.url, CreateRule, { input: { name: 'log 5xx', condition: { any: [{ status: { min: 500 } }, { latencyMs: { gt: 10000 } }] }, actions: ['LOG'] } });
    expect(globalRule.createRule.upstreamId).toBeNull();
    expect((await gqlOk(t.url, Rules, { upstreamId: upstream.id })).rules).toHaveLength(2);
    expect((await gqlOk(t.url, UpdateRule, { id: rule.createRule.id, input: { priority: 5 } })).updateRule.priority).toBe(5);
    expect(t.gateway.state.upstreamsById.get(upstream.id)?.rules.map((r) => r.def.name)).toEqual(['rate limited', 'log 5xx']);

    const token = await call(t.url, CreateAccessToken, { input: { name: 'ci', upstreamIds: [upstream.id] } });
    expect(token.data!.createAccessToken.token).toMatch(/^kr_/);
    expect(token.data!.createAccessToken.accessToken).toMatchObject({ name: 'ci', upstreamIds: [upstream.id] });
    const tokens = await call(t.url, AccessTokens, {});
    expect(tokens.text).not.toContain(token.data!.createAccessToken.token);

    expect((await gqlOk(t.url, DeleteRule, { id: globalRule.createRule.id })).deleteRule).toBe(globalRule.createRule.id);
    expect((await gqlOk(t.url, DeleteKey, { id: keyId })).deleteKey).toBe(keyId);
    expect(t.gateway.state.keys.has(keyId)).toBe(false);
    expect((await gqlOk(t.url, DeleteUpstream, { id: upstream.id })).deleteUpstream).toBe(upstream.id);
    expect((await gqlOk(t.url, Upstreams, {})).upstreams).toEqual([]);
    expect(t.gateway.state.upstreamsByName.has('openai')).toBe(false);
  });

  it('names the field at fault and writes nothing on bad input', async () => {
    const badUrl = await gql(t.url, CreateUpstream, { input: { name: 'bad', baseUrl: 'ftp://x' } });
    expect(badUrl.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.baseUrl' });
    const badName = await gql(t.url, CreateUpstream, { input: { name: 'has space', baseUrl: 'https://api.example.com' } });
    expect(badName.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.name' });
    const badHeader = await gql(t.url, CreateUpstream, { input: { name: 'h', baseUrl: 'https://api.example.com', headers: { 'x-a': 'a\r\nX-Evil: 1' } } });
    expect(badHeader.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.headers.x-a' });
    const needsName = await gql(t.url, CreateUpstream, { input: { name: 'h', baseUrl: 'https://api.example.com', auth: { type: 'HEADER' } } });
    expect(needsName.errors?.[0]?.extensions).toMatchObject({ field: 'input.auth.name' });
    expect((await gqlOk(t.url, Upstreams, {})).upstreams).toEqual([]);

    const up = (await gqlOk(t.url, CreateUpstream, { input: { name: 'v', baseUrl: 'https://api.example.com' } })).createUpstream;
    const crlfKey = await gql(t.url, AddKeys, { upstreamId: up.id, keys: [{ value: 'good-key-123456' }, { value: 'a\r\nX-Evil: 1' }] });
    expect(crlfKey.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'keys.1.value' });
    expect(await t.gateway.db.prisma.apiKey.count()).toBe(0); // the good key in the same call was not written either

    const badRegex = await gql(t.url, CreateRule, { input: { upstreamId: up.id, name: 'r', condition: { body: { regex: '(unclosed' } }, actions: ['LOG'] } });
    expect(badRegex.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.condition.body.regex' });
    const badPath = await gql(t.url, CreateRule, { input: { name: 'r', condition: { all: [{ status: { equals: 500 } }, { jsonPath: { path: '$..[?(@.x)]', exists: true } }] }, actions: ['LOG'] } });
    expect(badPath.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.condition.all.1.jsonPath.path' });
    const twoLeaves = await gql(t.url, `mutation { createRule(input: { name: "r", condition: { status: { equals: 1 }, body: { contains: "x" } }, actions: [LOG] }) { id } }`);
    expect(twoLeaves.errors?.length).toBeGreaterThan(0); // @oneOf
    expect(await t.gateway.db.prisma.rule.count()).toBe(0);
    const clash = await gql(t.url, CreateUpstream, { input: { name: 'v', baseUrl: 'https://api.example.com' } });
    expect(clash.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.name' });
    await gqlOk(t.url, DeleteUpstream, { id: up.id });
  });

  it('stores keys as ciphertext that differs each time, and no output carries a secret', async () => {
    const up = (await gqlOk(t.url, CreateUpstream, { input: { name: 'enc', baseUrl: 'https://api.example.com' } })).createUpstream;
    await gqlOk(t.url, AddKeys, { upstreamId: up.id, keys: [{ value: SECRET_A }] });
    const other = (await gqlOk(t.url, CreateUpstream, { input: { name: 'enc2', baseUrl: 'https://api.example.com' } })).createUpstream;
    await gqlOk(t.url, AddKeys, { upstreamId: other.id, keys: [{ value: SECRET_A }] });

    let stored: string[];
    if (provider === 'sqlite') {
      const raw = new Database(t.config.database.provider === 'sqlite' ? t.config.database.file : '', { readonly: true });
      stored = raw.prepare('SELECT "secretCipher" AS c FROM "ApiKey"').all().map((r) => (r as { c: string }).c);
      const dump = JSON.stringify(raw.prepare('SELECT * FROM "ApiKey"').all(), (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
      expect(dump).not.toContain(SECRET_A);
      raw.close();
    } else {
      const client = new pg.Client({ connectionString: t.config.database.url });
      await client.connect();
      stored = (await client.query('SELECT "secretCipher" AS c FROM "ApiKey"')).rows.map((r) => r.c);
      expect(JSON.stringify((await client.query('SELECT * FROM "ApiKey"')).rows)).not.toContain(SECRET_A);
      await client.end();
    }
    expect(stored).toHaveLength(2);
    for (const c of stored) expect(c).toMatch(/^v1:[A-Za-z0-9+/=]+$/);
    expect(stored[0]).not.toBe(stored[1]);
    // and the gateway can read them back
    expect([...t.gateway.state.keys.values()].every((k) => k.secret === SECRET_A)).toBe(true);

    const everything = [...responses, ...t.logLines].join('\n');
    for (const secret of [SECRET_A, SECRET_B]) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(Buffer.from(secret).toString('base64'));
    }
  });
});
