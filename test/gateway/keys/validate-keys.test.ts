import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyStateChange } from '../../../src/events/bus.ts';
import { graphql } from '../../generated/index.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';

const CreateUpstream = graphql(`mutation ProbeCreateUpstream($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }`);
const AddKeys = graphql(`mutation ProbeAddKeys($upstreamId: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $upstreamId, keys: $keys) { id name } }`);
const SetKeyStatus = graphql(`mutation ProbeSetKeyStatus($id: ID!, $status: KeyStatus!) { setKeyStatus(id: $id, status: $status) { id status } }`);
const ValidateKeys = graphql(`
  mutation ProbeValidateKeys($upstreamId: ID!, $keyIds: [ID!], $apply: Boolean) {
    validateKeys(upstreamId: $upstreamId, keyIds: $keyIds, apply: $apply) { keyId ok status error latencyMs applied }
  }
`);

const GOOD = 'sk-canary-probe-good-0000000000000001';
const REVOKED = 'sk-canary-probe-revoked-00000000000002';
const UNPAID = 'sk-canary-probe-unpaid-000000000000003';
const RESTING = 'sk-canary-probe-resting-00000000000004';
const LIMITED = 'sk-canary-probe-limited-00000000000005';
const SECRETS = [GOOD, REVOKED, UNPAID, RESTING, LIMITED];

describe.each(PROVIDERS)('key health probe on %s', (provider) => {
  let t: TestGateway;
  let mock: MockUpstream;
  let upstreamId: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    mock = await startMockUpstream({
      byKey: { [REVOKED]: 'status:401:Incorrect API key provided: {key}', [UNPAID]: 'status:402', [LIMITED]: 'status:429' },
    });
    t = await startTestGateway({ provider });
    const probe = { method: 'GET', path: '/models?limit=1', expectStatus: 200 };
    upstreamId = (await gqlOk(t.url, CreateUpstream, { input: { name: 'probed', baseUrl: `${mock.url}/v1`, probe } })).createUpstream.id;
    const added = await gqlOk(t.url, AddKeys, { upstreamId, keys: SECRETS.map((value) => ({ value })) });
    for (const [i, key] of added.addKeys.entries()) ids[SECRETS[i]] = key.id;
    await gqlOk(t.url, SetKeyStatus, { id: ids[RESTING], status: 'DISABLED' });
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  it('probes every key with the key injected and reports each result without changing anything', async () => {
    mock.reset();
    const res = await gql(t.url, ValidateKeys, { upstreamId });
    const results = res.data!.validateKeys;
    const byKey = Object.fromEntries(results.map((r) => [r.keyId, r]));
    expect(byKey[ids[GOOD]]).toMatchObject({ ok: true, status: 200, error: null, applied: null });
    expect(byKey[ids[REVOKED]]).toMatchObject({ ok: false, status: 401, error: 'expected status 200, got 401', applied: null });
    expect(byKey[ids[UNPAID]]).toMatchObject({ ok: false, status: 402 });
    expect(byKey[ids[RESTING]]).toMatchObject({ ok: true, status: 200 });
    expect(results.every((r) => r.latencyMs >= 0)).toBe(true);
    expect(mock.requests.map((r) => `${r.method} ${r.url}`)).toEqual(Array(5).fill('GET /v1/models?limit=1'));
    expect(new Set(mock.keysSeen)).toEqual(new Set(SECRETS));
    expect(mock.requests.every((r) => r.headers['authorization'] === `Bearer ${r.key}` && r.headers['x-forwarded-for'] === undefined)).toBe(true);
    // The 401 body echoed the key; nothing of it reaches the API answer.
    for (const secret of SECRETS) expect(res.text).not.toContain(secret.slice(-12));
    expect(t.gateway.state.keys.get(ids[REVOKED])!.status).toBe('ACTIVE');
  });

  it('with apply: bans 401/403, disables 402, brings passing DISABLED keys back, leaves 429 alone', async () => {
    const { validateKeys } = await gqlOk(t.url, ValidateKeys, { upstreamId, apply: true });
    const applied = Object.fromEntries(validateKeys.map((r) => [r.keyId, r.applied]));
    expect(applied).toEqual({ [ids[GOOD]]: null, [ids[REVOKED]]: 'BANNED', [ids[UNPAID]]: 'DISABLED', [ids[RESTING]]: 'ACTIVE', [ids[LIMITED]]: null });
    const status = (secret: string) => t.gateway.state.keys.get(ids[secret])!.status;
    expect([status(GOOD), status(REVOKED), status(UNPAID), status(RESTING), status(LIMITED)]).toEqual(['ACTIVE', 'BANNED', 'DISABLED', 'ACTIVE', 'ACTIVE']);
    const events = await t.gateway.db.prisma.keyEvent.findMany({ where: { keyId: ids[REVOKED] } });
    expect(events.at(-1)).toMatchObject({ toStatus: 'BANNED', actor: 'ADMIN', reason: 'probe failed: expected status 200, got 401' });
  });

  it('probes only the given keys; unknown keys and upstreams without a probe are input errors', async () => {
    mock.reset();
    const { validateKeys } = await gqlOk(t.url, ValidateKeys, { upstreamId, keyIds: [ids[GOOD]] });
    expect(validateKeys).toHaveLength(1);
    expect(mock.keysSeen).toEqual([GOOD]);
    const unknown = await gql(t.url, ValidateKeys, { upstreamId, keyIds: [ids[GOOD], 'nope'] });
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'keyIds.1' });
    const bare = (await gqlOk(t.url, CreateUpstream, { input: { name: 'no-probe', baseUrl: `${mock.url}/v1` } })).createUpstream.id;
    const noProbe = await gql(t.url, ValidateKeys, { upstreamId: bare });
    expect(noProbe.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'upstreamId' });
  });

  it('a network failure is reported in plain words without host, port or key; QUERY auth carries the key in the query', async () => {
    const down = (await gqlOk(t.url, CreateUpstream, {
      input: { name: 'down', baseUrl: 'http://127.0.0.1:9/v1', auth: { type: 'QUERY', name: 'key' }, probe: { path: '/models' } },
    })).createUpstream.id;
    await gqlOk(t.url, AddKeys, { upstreamId: down, keys: [{ value: GOOD }] });
    const res = await gql(t.url, ValidateKeys, { upstreamId: down });
    expect(res.data!.validateKeys[0]).toMatchObject({ ok: false, status: null, error: 'connection refused' });
    expect(res.text).not.toContain('127.0.0.1');

    const query = (await gqlOk(t.url, CreateUpstream, {
      input: { name: 'query-auth', baseUrl: `${mock.url}/v1beta`, auth: { type: 'QUERY', name: 'key' }, probe: { path: '/models?key=client&x=1' } },
    })).createUpstream.id;
    await gqlOk(t.url, AddKeys, { upstreamId: query, keys: [{ value: GOOD }] });
    mock.reset();
    expect((await gqlOk(t.url, ValidateKeys, { upstreamId: query })).validateKeys[0].ok).toBe(true);
    expect(mock.requests[0].url).toBe(`/v1beta/models?x=1&key=${GOOD}`);
  });

  it('a timer return probes first: a failing key stays DISABLED a further period, a passing one comes back', async () => {
    const { lifecycle, events, state } = t.gateway;
    const revoked = ids[REVOKED];
    const good = ids[GOOD];
    await lifecycle.transition(revoked, 'DISABLED', { actor: 'ADMIN', reason: 'test', until: Date.now() + 150 });
    await lifecycle.transition(good, 'DISABLED', { actor: 'ADMIN', reason: 'test', until: Date.now() + 150 });
    const changes = events.subscribe('apiKey:stateChanged');
    const seen: KeyStateChange[] = [];
    for await (const change of changes) {
      if (change.actor === 'TIMER') seen.push(change);
      if (seen.length === 2) break;
    }
    const of = (id: string) => seen.find((c) => c.keyId === id)!;
    expect(of(good)).toMatchObject({ from: 'DISABLED', to: 'ACTIVE', reason: 'disable time over; probe passed' });
    expect(of(revoked)).toMatchObject({ from: 'DISABLED', to: 'DISABLED', reason: 'probe failed: expected status 200, got 401' });
    expect(of(revoked).disabledUntil! - of(revoked).at).toBeGreaterThanOrEqual(59_000);
    expect(state.keys.get(revoked)!.status).toBe('DISABLED');
  });
});
