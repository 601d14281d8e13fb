// Create, read, update and delete round trips for every writable type, every
// field included, on both providers. (RequestLog and KeyEvent are written by
// the gateway itself; request-logs.test.ts reads them.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import type { CreateRuleInput, CreateUpstreamInput, UpdateRuleInput, UpdateUpstreamInput } from '../../generated/graphql.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';

const UPSTREAM_FIELDS = `id name baseUrl enabled strategy auth { type name } headers connectTimeoutMs timeoutMs bodyTimeoutMs deadlineMs maxRetries retryBaseMs retryMaxMs
  retryOnStatus maxBufferedBodyBytes bodyLogging bodyLogMaxBytes allowAnonymous maxEjectionPercent modelPath waitForKeyMs injectStreamUsage
  probe { method path body expectStatus } quotaResetCron quotaResetTimezone`;
const CreateUpstream = graphql(`mutation CrudCreateUpstream($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }`);
const UpdateUpstream = graphql(`mutation CrudUpdateUpstream($id: ID!, $input: UpdateUpstreamInput!) { updateUpstream(id: $id, input: $input) { id } }`);
const DeleteUpstream = graphql(`mutation CrudDeleteUpstream($id: ID!) { deleteUpstream(id: $id) }`);
const ReadUpstream = `query ($id: ID) { upstream(id: $id) { ${UPSTREAM_FIELDS} } }`;
const AddKeys = graphql(`mutation CrudAddKeys($upstreamId: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $upstreamId, keys: $keys) { id } }`);
const ReadKey = graphql(`query CrudReadKey($id: ID!) { key(id: $id) { id name fingerprint status statusReason disabledUntil weight quota used requestCount failureCount upstream { name } } }`);
const SetKeyStatus = graphql(`mutation CrudSetKeyStatus($id: ID!, $status: KeyStatus!, $until: DateTime, $reason: String) { setKeyStatus(id: $id, status: $status, until: $until, reason: $reason) { id } }`);
const DeleteKey = graphql(`mutation CrudDeleteKey($id: ID!) { deleteKey(id: $id) }`);
const RULE_FIELDS = `id upstreamId name condition actions threshold windowSeconds consecutive cooldownSeconds disableMode disableForSeconds escalate maxDisableSeconds scope priority enabled`;
const CreateRule = graphql(`mutation CrudCreateRule($input: CreateRuleInput!) { createRule(input: $input) { id } }`);
const UpdateRule = graphql(`mutation CrudUpdateRule($id: ID!, $input: UpdateRuleInput!) { updateRule(id: $id, input: $input) { id } }`);
const DeleteRule = graphql(`mutation CrudDeleteRule($id: ID!) { deleteRule(id: $id) }`);
const ReadRules = `query ($upstreamId: ID) { rules(upstreamId: $upstreamId) { ${RULE_FIELDS} } }`;
const CreateToken = graphql(`mutation CrudCreateToken($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token accessToken { id } } }`);
const RevokeToken = graphql(`mutation CrudRevokeToken($id: ID!) { revokeAccessToken(id: $id) { id } }`);
const DeleteToken = graphql(`mutation CrudDeleteToken($id: ID!) { deleteAccessToken(id: $id) }`);
const ReadTokens = graphql(`query CrudReadTokens { accessTokens { id name prefix upstreamIds enabled revokedAt lastUsedAt } }`);

const fullUpstream: CreateUpstreamInput = {
  name: 'full',
  baseUrl: 'https://api.example.com/v1',
  enabled: true,
  strategy: 'WEIGHTED',
  auth: { type: 'QUERY', name: 'key' },
  headers: { 'x-team': 'a', 'x-env': 'prod' },
  connectTimeoutMs: 1500,
  timeoutMs: 20_000,
  bodyTimeoutMs: 30_000,
  deadlineMs: 90_000,
  maxRetries: 3,
  retryBaseMs: 50,
  retryMaxMs: 800,
  retryOnStatus: [429, 500, 503],
  maxBufferedBodyBytes: 1_000_000,
  bodyLogging: 'ALL',
  bodyLogMaxBytes: 4096,
  allowAnonymous: true,
  maxEjectionPercent: 40,
  modelPath: '$.model',
  waitForKeyMs: 250,
  injectStreamUsage: true,
  probe: { method: 'POST', path: '/models', body: '{}', expectStatus: 204 },
  quotaResetCron: '0 0 * * *',
  quotaResetTimezone: 'Europe/Paris',
};
const changedUpstream: UpdateUpstreamInput = {
  name: 'renamed',
  baseUrl: 'https://other.example.com',
  enabled: false,
  strategy: 'RANDOM',
  auth: { type: 'HEADER', name: 'x-api-key' },
  headers: {},
  connectTimeoutMs: 2000,
  timeoutMs: 10_000,
  bodyTimeoutMs: 15_000,
  deadlineMs: 60_000,
  maxRetries: 0,
  retryBaseMs: 10,
  retryMaxMs: 100,
  retryOnStatus: [502],
  maxBufferedBodyBytes: 0,
  bodyLogging: 'OFF',
  bodyLogMaxBytes: 0,
  allowAnonymous: false,
  maxEjectionPercent: 100,
  modelPath: '$.body.model',
  waitForKeyMs: 0,
  injectStreamUsage: false,
  probe: { method: 'GET', path: '/health', body: null, expectStatus: 200 },
  quotaResetCron: '0 6 * * 1',
  quotaResetTimezone: 'UTC',
};

describe.each(PROVIDERS)('CRUD round trips on %s', (provider) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ provider });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('upstream: every field survives create, read, update; delete removes it with its keys', async () => {
    const id = (await gqlOk(t.url, CreateUpstream, { input: fullUpstream })).createUpstream.id;
    expect((await gqlOk<{ upstream: unknown }, unknown>(t.url, ReadUpstream, { id })).upstream).toEqual({ id, ...fullUpstream });
    await gqlOk(t.url, UpdateUpstream, { id, input: changedUpstream });
    expect((await gqlOk<{ upstream: unknown }, unknown>(t.url, ReadUpstream, { id })).upstream).toEqual({ id, ...changedUpstream });
    expect(t.gateway.state.upstreamsById.get(id)?.config).toMatchObject({ name: 'renamed', authType: 'HEADER', authName: 'x-api-key', retryOnStatus: [502] });
    await gqlOk(t.url, AddKeys, { upstreamId: id, keys: [{ value: 'sk-crud-upstream-key-000001' }] });
    expect(await gqlOk(t.url, DeleteUpstream, { id })).toEqual({ deleteUpstream: id });
    expect((await gqlOk<{ upstream: unknown }, unknown>(t.url, ReadUpstream, { id })).upstream).toBeNull();
    expect(await t.gateway.db.prisma.apiKey.count()).toBe(0);
    expect(t.gateway.state.keys.size).toBe(0);
    expect((await gql(t.url, DeleteUpstream, { id })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
  });

  it('key: add, read, change status, delete', async () => {
    const upstreamId = (await gqlOk(t.url, CreateUpstream, { input: { name: 'keys', baseUrl: 'https://api.example.com' } })).createUpstream.id;
    const id = (await gqlOk(t.url, AddKeys, { upstreamId, keys: [{ value: 'sk-crud-key-abcdef-9876', name: 'primary', weight: 7, quota: 1000 }] })).addKeys[0]!.id;
    expect((await gqlOk(t.url, ReadKey, { id })).key).toEqual({
      id, name: 'primary', fingerprint: '…9876', status: 'ACTIVE', statusReason: null, disabledUntil: null, weight: 7, quota: 1000, used: 0, requestCount: 0, failureCount: 0, upstream: { name: 'keys' },
    });
    const until = new Date(Date.now() + 600_000).toISOString();
    await gqlOk(t.url, SetKeyStatus, { id, status: 'DISABLED', until, reason: 'cooling' });
    expect((await gqlOk(t.url, ReadKey, { id })).key).toMatchObject({ status: 'DISABLED', statusReason: 'cooling', disabledUntil: until });
    await gqlOk(t.url, SetKeyStatus, { id, status: 'ACTIVE' });
    expect((await gqlOk(t.url, ReadKey, { id })).key).toMatchObject({ status: 'ACTIVE', disabledUntil: null });
    expect(await gqlOk(t.url, DeleteKey, { id })).toEqual({ deleteKey: id });
    expect((await gqlOk(t.url, ReadKey, { id })).key).toBeNull();
    expect((await gql(t.url, DeleteKey, { id })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('rule: every field survives create, read, update; delete removes it from the running rules', async () => {
    const upstreamId = (await gqlOk(t.url, CreateUpstream, { input: { name: 'rules', baseUrl: 'https://api.example.com' } })).createUpstream.id;
    const input: CreateRuleInput = {
      upstreamId, name: 'quota', condition: { all: [{ status: { in: [403, 429] } }, { jsonPath: { path: '$.error.type', equals: 'insufficient_quota' } }] }, actions: ['DISABLE_KEY', 'ALERT'],
      threshold: 2, windowSeconds: 120, consecutive: true, cooldownSeconds: 30, disableMode: 'QUOTA_RESET', disableForSeconds: null, escalate: false,
      maxDisableSeconds: 3600, scope: 'KEY_MODEL', priority: 7, enabled: true,
    };
    const id = (await gqlOk(t.url, CreateRule, { input })).createRule.id;
    const read = async () => (await gqlOk<{ rules: Array<{ id: string }> }, unknown>(t.url, ReadRules, { upstreamId })).rules.find((r) => r.id === id);
    expect(await read()).toEqual({ id, ...input });
    const change: UpdateRuleInput = {
      upstreamId: null, name: 'slow', condition: { latencyMs: { gt: 5000 } }, actions: ['DISABLE_KEY'], threshold: 5, windowSeconds: 60, consecutive: false, cooldownSeconds: 0,
      disableMode: 'DURATION', disableForSeconds: 300, escalate: true, maxDisableSeconds: 7200, scope: 'KEY', priority: 1, enabled: false,
    };
    await gqlOk(t.url, UpdateRule, { id, input: change });
    expect(await read()).toEqual({ id, ...change });
    expect(t.gateway.state.upstreamsById.get(upstreamId)?.rules.some((r) => r.def.id === id)).toBe(false); // disabled rules do not run
    await gqlOk(t.url, UpdateRule, { id, input: { enabled: true } });
    expect(t.gateway.state.upstreamsById.get(upstreamId)?.rules.map((r) => r.def.id)).toContain(id);
    expect(await gqlOk(t.url, DeleteRule, { id })).toEqual({ deleteRule: id });
    expect(await read()).toBeUndefined();
    expect(t.gateway.state.upstreamsById.get(upstreamId)?.rules.map((r) => r.def.id)).not.toContain(id);
  });

  it('access token: create (shown once), read, revoke, delete', async () => {
    const upstreamId = (await gqlOk(t.url, CreateUpstream, { input: { name: 'tokens', baseUrl: 'https://api.example.com' } })).createUpstream.id;
    const created = (await gqlOk(t.url, CreateToken, { input: { name: 'svc', upstreamIds: [upstreamId] } })).createAccessToken;
    const id = created.accessToken.id;
    const list = await gql(t.url, ReadTokens, {});
    expect(list.data!.accessTokens.find((a) => a.id === id)).toEqual({ id, name: 'svc', prefix: created.token.slice(0, 7), upstreamIds: [upstreamId], enabled: true, revokedAt: null, lastUsedAt: null });
    expect(list.text).not.toContain(created.token);
    await gqlOk(t.url, RevokeToken, { id });
    expect((await gqlOk(t.url, ReadTokens, {})).accessTokens.find((a) => a.id === id)).toMatchObject({ enabled: false, revokedAt: expect.any(String) });
    expect(await gqlOk(t.url, DeleteToken, { id })).toEqual({ deleteAccessToken: id });
    expect((await gqlOk(t.url, ReadTokens, {})).accessTokens.find((a) => a.id === id)).toBeUndefined();
    expect(t.gateway.state.tokensById.has(id)).toBe(false);
    expect((await gql(t.url, DeleteToken, { id })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
  });
});
