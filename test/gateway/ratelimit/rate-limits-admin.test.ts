// Rate limits as admin data, on every provider: CRUD, field errors that store
// nothing, respectProviderLimits on upstreams, and exportConfig/importConfig.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { createToken, createUpstream } from '../proxy/support.ts';
import { CreateRateLimit, DeleteRateLimit, ListRateLimits, UpdateRateLimit } from './support.ts';

const UpdateUpstream = graphql(`mutation RlUpdateUpstream($id: ID!, $input: UpdateUpstreamInput!) { updateUpstream(id: $id, input: $input) { id respectProviderLimits } }`);
const UpstreamFlag = graphql(`query RlUpstreamFlag($name: String!) { upstream(name: $name) { id respectProviderLimits } }`);
const DeleteToken = graphql(`mutation RlDeleteToken($id: ID!) { deleteAccessToken(id: $id) }`);
const ExportConfig = graphql(`mutation RlExportConfig { exportConfig }`);
const ImportConfig = graphql(`mutation RlImportConfig($json: JSON!, $mode: ConfigImportMode) { importConfig(json: $json, mode: $mode) { rateLimits { created updated deleted } } }`);

describe.each(PROVIDERS)('rate limits as admin data on %s', (provider) => {
  let t: TestGateway;
  let mock: MockUpstream;
  let upstreamId: string;
  let keyId: string;
  let tokenId: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway({ provider });
    const up = await createUpstream(t, mock, { name: 'adm', respectProviderLimits: true }, [{ value: 'sk-adm-000000000000000000000001' }]);
    upstreamId = up.id;
    keyId = up.keyIds['sk-adm-000000000000000000000001'];
    tokenId = (await createToken(t)).id;
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  const stored = async () => (await gqlOk(t.url, ListRateLimits, {})).rateLimits;

  it('bad inputs are field errors and store nothing', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ scope: 'ACCESS_TOKEN', targetId: tokenId, requests: -1, perSeconds: 1 }, 'input.requests'],
      [{ scope: 'ACCESS_TOKEN', targetId: tokenId, requests: 0, perSeconds: 1 }, 'input.requests'],
      [{ scope: 'ACCESS_TOKEN', targetId: tokenId, requests: 5, perSeconds: 0 }, 'input.perSeconds'],
      [{ scope: 'UPSTREAM', targetId: upstreamId, concurrent: 0 }, 'input.concurrent'],
      [{ scope: 'KEY', targetId: keyId, tokensPerMinute: -40 }, 'input.tokensPerMinute'],
      [{ scope: 'ACCESS_TOKEN', targetId: tokenId }, 'input.requests'],
      [{ scope: 'ACCESS_TOKEN', targetId: tokenId, requests: 5 }, 'input.perSeconds'],
      [{ scope: 'UPSTREAM', targetId: 'no-such-upstream', concurrent: 2 }, 'input.targetId'],
      [{ scope: 'KEY', targetId: upstreamId, concurrent: 2 }, 'input.targetId'],
      [{ scope: 'ACCESS_TOKEN', targetId: keyId, concurrent: 2 }, 'input.targetId'],
    ];
    for (const [input, field] of cases) {
      const res = await gql(t.url, CreateRateLimit, { input: input as never });
      expect(res.errors?.[0]?.extensions, JSON.stringify(input)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect(await stored()).toEqual([]);
    expect(t.gateway.state.limits.clientLimits).toBe(false);
  });

  it('creates, lists by scope and target, updates and deletes; the proxy state follows', async () => {
    const a = (await gqlOk(t.url, CreateRateLimit, { input: { scope: 'ACCESS_TOKEN', targetId: tokenId, requests: 5, perSeconds: 1 } })).createRateLimit;
    const b = (await gqlOk(t.url, CreateRateLimit, { input: { scope: 'KEY', targetId: keyId, concurrent: 3, tokensPerMinute: 1000 } })).createRateLimit;
    expect(a).toMatchObject({ scope: 'ACCESS_TOKEN', targetId: tokenId, requests: 5, perSeconds: 1, concurrent: null, tokensPerMinute: null });
    expect(typeof a.createdAt).toBe('string');
    expect((await gqlOk(t.url, ListRateLimits, { scope: 'KEY' })).rateLimits.map((r) => r.id)).toEqual([b.id]);
    expect((await gqlOk(t.url, ListRateLimits, { targetId: tokenId })).rateLimits.map((r) => r.id)).toEqual([a.id]);
    expect(t.gateway.state.limits.limitsFor('ACCESS_TOKEN', tokenId)).toHaveLength(1);

    const updated = (await gqlOk(t.url, UpdateRateLimit, { id: a.id, input: { requests: 10, concurrent: 4 } })).updateRateLimit;
    expect(updated).toMatchObject({ requests: 10, perSeconds: 1, concurrent: 4 });
    expect(t.gateway.state.limits.limitsFor('ACCESS_TOKEN', tokenId)[0].rule.requests).toBe(10);
    // Clearing the last field set is refused, and nothing changes.
    const cleared = await gql(t.url, UpdateRateLimit, { id: b.id, input: { concurrent: null, tokensPerMinute: null } });
    expect(cleared.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.requests' });
    const negative = await gql(t.url, UpdateRateLimit, { id: b.id, input: { concurrent: -2 } });
    expect(negative.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.concurrent' });
    expect((await gqlOk(t.url, ListRateLimits, { scope: 'KEY' })).rateLimits[0]).toMatchObject({ concurrent: 3, tokensPerMinute: 1000 });

    expect((await gqlOk(t.url, DeleteRateLimit, { id: a.id })).deleteRateLimit).toBe(a.id);
    expect((await gql(t.url, DeleteRateLimit, { id: a.id })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
    expect(t.gateway.state.limits.limitsFor('ACCESS_TOKEN', tokenId)).toHaveLength(0);
    await gqlOk(t.url, DeleteRateLimit, { id: b.id });
  });

  it('respectProviderLimits is set on create, changed on update, and kept in the proxy state', async () => {
    expect((await gqlOk(t.url, UpstreamFlag, { name: 'adm' })).upstream?.respectProviderLimits).toBe(true);
    expect(t.gateway.state.upstreamsById.get(upstreamId)!.config.respectProviderLimits).toBe(true);
    await gqlOk(t.url, UpdateUpstream, { id: upstreamId, input: { respectProviderLimits: false } });
    expect(t.gateway.state.upstreamsById.get(upstreamId)!.config.respectProviderLimits).toBe(false);
    await gqlOk(t.url, UpdateUpstream, { id: upstreamId, input: { respectProviderLimits: true } });
  });

  it('limits travel in exportConfig / importConfig, targets by name', async () => {
    await gqlOk(t.url, CreateRateLimit, { input: { scope: 'UPSTREAM', targetId: upstreamId, requests: 100, perSeconds: 60 } });
    await gqlOk(t.url, CreateRateLimit, { input: { scope: 'ACCESS_TOKEN', targetId: tokenId, tokensPerMinute: 5000 } });
    await gqlOk(t.url, CreateRateLimit, { input: { scope: 'KEY', targetId: keyId, concurrent: 2 } });
    const doc = (await gqlOk(t.url, ExportConfig, {})).exportConfig as { upstreams: Array<Record<string, unknown>>; rateLimits: Array<Record<string, unknown>> };
    expect(doc.upstreams.find((u) => u.name === 'adm')).toMatchObject({ respectProviderLimits: true });
    expect(doc.rateLimits).toHaveLength(3);
    expect(doc.rateLimits[0]).toMatchObject({ scope: 'UPSTREAM', upstream: 'adm', requests: 100, perSeconds: 60 });
    expect(doc.rateLimits[1]).toMatchObject({ scope: 'ACCESS_TOKEN', tokensPerMinute: 5000 });
    expect(doc.rateLimits[2]).toMatchObject({ scope: 'KEY', upstream: 'adm', concurrent: 2 });
    expect(JSON.stringify(doc)).not.toContain(keyId);

    // A bad limit in the document fails the whole import, naming it.
    const bad = { ...doc, rateLimits: [...doc.rateLimits, { scope: 'UPSTREAM', upstream: 'adm', concurrent: 0 }] };
    const refused = await gql(t.url, ImportConfig, { json: bad, mode: 'REPLACE' });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'json.rateLimits.3.concurrent' });
    expect(await stored()).toHaveLength(3);

    // MERGE replaces each named target's limits: same document, same limits.
    const merged = await gqlOk(t.url, ImportConfig, { json: doc, mode: 'MERGE' });
    expect(merged.importConfig.rateLimits).toEqual({ created: 3, updated: 0, deleted: 3 });
    const after = await stored();
    expect(after.map((r) => [r.scope, r.targetId, r.requests, r.concurrent, r.tokensPerMinute])).toEqual([
      ['UPSTREAM', upstreamId, 100, null, null],
      ['ACCESS_TOKEN', tokenId, null, null, 5000],
      ['KEY', keyId, null, 2, null],
    ]);
    expect(t.gateway.state.limits.limitsFor('KEY', keyId)).toHaveLength(1);

    const replaced = await gqlOk(t.url, ImportConfig, { json: { ...doc, rateLimits: [doc.rateLimits[0]] }, mode: 'REPLACE' });
    expect(replaced.importConfig.rateLimits).toEqual({ created: 1, updated: 0, deleted: 3 });
    expect(await stored()).toHaveLength(1);
    expect(t.gateway.state.limits.limitsFor('KEY', keyId)).toHaveLength(0);
  });

  it("deleting a target deletes its limits", async () => {
    const other = await createToken(t);
    const created = (await gqlOk(t.url, CreateRateLimit, { input: { scope: 'ACCESS_TOKEN', targetId: other.id, concurrent: 1 } })).createRateLimit;
    expect(t.gateway.state.limits.limitsFor('ACCESS_TOKEN', other.id)).toHaveLength(1);
    await gqlOk(t.url, DeleteToken, { id: other.id });
    // Deleted off the mutation's path (a config:changed listener): stored rows first, then the reloaded memory.
    await vi.waitFor(async () => {
      expect((await stored()).map((r) => r.id)).not.toContain(created.id);
      expect(t.gateway.state.limits.limitsFor('ACCESS_TOKEN', other.id)).toHaveLength(0);
    }, { timeout: 10_000, interval: 50 });
  });
});
