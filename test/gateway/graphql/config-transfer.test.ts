import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../src/crypto/tokens.ts';
import { graphql } from '../../generated/index.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';

const CreateUpstream = graphql(`mutation CfgCreateUpstream($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }`);
const AddKeys = graphql(`mutation CfgAddKeys($upstreamId: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $upstreamId, keys: $keys) { id } }`);
const CreateRule = graphql(`mutation CfgCreateRule($input: CreateRuleInput!) { createRule(input: $input) { id } }`);
const CreateToken = graphql(`mutation CfgCreateToken($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token accessToken { id } } }`);
const RevokeToken = graphql(`mutation CfgRevokeToken($id: ID!) { revokeAccessToken(id: $id) { id } }`);
const ExportConfig = graphql(`mutation ExportConfig { exportConfig }`);
const ImportConfig = graphql(`
  mutation ImportConfig($json: JSON!, $mode: ConfigImportMode) {
    importConfig(json: $json, mode: $mode) { upstreams { created updated deleted } rules { created updated deleted } accessTokens { created updated deleted } }
  }
`);

interface Doc {
  version: number;
  exportedAt?: string;
  upstreams: Array<Record<string, unknown> & { name: string }>;
  rules: Array<Record<string, unknown> & { name: string; upstream: string | null }>;
  accessTokens: Array<Record<string, unknown> & { name: string; tokenHash: string }>;
}

describe.each(PROVIDERS)('exportConfig / importConfig on %s', (provider) => {
  let source: TestGateway;
  let target: TestGateway;
  let token: string;
  const canary = `sk-canary-${randomUUID()}`;
  const captured: string[] = [];

  async function exportFrom(t: TestGateway): Promise<Doc> {
    const res = await gql(t.url, ExportConfig, {});
    captured.push(res.text);
    return res.data!.exportConfig as Doc;
  }
  const withoutStamp = ({ exportedAt: _e, ...doc }: Doc) => doc;
  const counts = async (t: TestGateway) => ({
    upstreams: await t.gateway.db.prisma.upstream.count(),
    rules: await t.gateway.db.prisma.rule.count(),
    tokens: await t.gateway.db.prisma.accessToken.count(),
    keys: await t.gateway.db.prisma.apiKey.count(),
  });

  beforeAll(async () => {
    [source, target] = await Promise.all([startTestGateway({ provider }), startTestGateway({ provider })]);
    const a = (await gqlOk(source.url, CreateUpstream, {
      input: {
        name: 'alpha',
        baseUrl: 'https://api.example.com/v1',
        strategy: 'WEIGHTED',
        auth: { type: 'HEADER', name: 'x-api-key' },
        headers: { 'x-team': 'core' },
        retryOnStatus: [429, 503],
        probe: { path: '/models', expectStatus: 200 },
        bodyLogging: 'ALL',
      },
    })).createUpstream.id;
    const b = (await gqlOk(source.url, CreateUpstream, { input: { name: 'beta', baseUrl: 'https://beta.example.com' } })).createUpstream.id;
    await gqlOk(source.url, AddKeys, { upstreamId: a, keys: [{ value: `${canary}-a` }] });
    await gqlOk(source.url, CreateRule, { input: { upstreamId: a, name: 'rate limited', condition: { status: { equals: 429 } }, actions: ['DISABLE_KEY'], disableForSeconds: 60, priority: 5 } });
    await gqlOk(source.url, CreateRule, { input: { name: 'slow', condition: { latencyMs: { gt: 10_000 } }, actions: ['LOG', 'ALERT'] } });
    await gqlOk(source.url, CreateRule, { input: { upstreamId: b, name: 'auth', condition: { any: [{ status: { equals: 401 } }, { body: { contains: 'invalid api key', ignoreCase: true } }] }, actions: ['BAN_KEY'] } });
    const created = await gqlOk(source.url, CreateToken, { input: { name: 'ci', upstreamIds: [a] } });
    token = created.createAccessToken.token;
    const old = await gqlOk(source.url, CreateToken, { input: { name: 'old' } });
    await gqlOk(source.url, RevokeToken, { id: old.createAccessToken.accessToken.id });
  });
  afterAll(async () => {
    const everything = [...captured, ...source.logLines, ...target.logLines].join('\n');
    expect(everything).not.toContain(canary);
    expect(everything).not.toContain(token);
    await Promise.all([source?.close(), target?.close()]);
  });

  it('exports upstreams, rules and token hashes by name, without keys or tokens', async () => {
    const doc = await exportFrom(source);
    expect(doc.version).toBe(1);
    expect(doc.upstreams.map((u) => u.name)).toEqual(['alpha', 'beta']);
    expect(doc.upstreams[0]).toMatchObject({ strategy: 'WEIGHTED', auth: { type: 'HEADER', name: 'x-api-key' }, headers: { 'x-team': 'core' }, retryOnStatus: [429, 503], bodyLogging: 'ALL', probe: { path: '/models' } });
    expect(doc.upstreams[0]).not.toHaveProperty('id');
    expect(doc.rules.map((r) => [r.upstream, r.name])).toEqual([['alpha', 'rate limited'], ['beta', 'auth'], [null, 'slow']]);
    expect(doc.accessTokens).toMatchObject([
      { name: 'ci', tokenHash: sha256Hex(token), upstreams: ['alpha'], enabled: true, revokedAt: null },
      { name: 'old', enabled: false, revokedAt: expect.any(String) },
    ]);
    expect(JSON.stringify(doc)).not.toContain(token);
  });

  it('MERGE into an empty gateway recreates everything; clients keep their tokens', async () => {
    const doc = await exportFrom(source);
    const res = await gqlOk(target.url, ImportConfig, { json: doc, mode: 'MERGE' });
    expect(res.importConfig).toEqual({ upstreams: { created: 2, updated: 0, deleted: 0 }, rules: { created: 3, updated: 0, deleted: 0 }, accessTokens: { created: 2, updated: 0, deleted: 0 } });
    expect(withoutStamp(await exportFrom(target))).toEqual(withoutStamp(doc));
    // the state is live: the upstream routes, its rules are compiled, the token is accepted
    const alpha = target.gateway.state.upstreamsByName.get('alpha')!;
    expect(alpha.config).toMatchObject({ authType: 'HEADER', authName: 'x-api-key', strategy: 'WEIGHTED' });
    expect(alpha.rules.map((r) => r.def.name)).toEqual(['rate limited', 'slow']);
    expect(target.gateway.state.tokensByHash.get(sha256Hex(token))).toMatchObject({ name: 'ci', enabled: true, upstreamIds: [alpha.config.id] });

    // The same document again (as JSON text) updates in place and creates nothing.
    const again = await gqlOk(target.url, ImportConfig, { json: JSON.stringify(doc) });
    expect(again.importConfig.upstreams).toEqual({ created: 0, updated: 2, deleted: 0 });
    expect(again.importConfig.rules).toEqual({ created: 0, updated: 3, deleted: 0 });
    expect(await counts(target)).toMatchObject({ upstreams: 2, rules: 3, tokens: 2 });
  });

  it('MERGE changes what the document names; REPLACE also deletes the rest, keys included', async () => {
    await gqlOk(target.url, AddKeys, { upstreamId: target.gateway.state.upstreamsByName.get('beta')!.config.id, keys: [{ value: `${canary}-beta` }] });
    const doc = withoutStamp(await exportFrom(target));
    doc.upstreams[0]!.baseUrl = 'https://moved.example.com/v2';
    doc.rules.push({ upstream: 'alpha', name: 'five hundreds', condition: { status: { min: 500 } }, actions: ['LOG'] });
    const merged = await gqlOk(target.url, ImportConfig, { json: doc, mode: 'MERGE' });
    expect(merged.importConfig.rules).toEqual({ created: 1, updated: 3, deleted: 0 });
    expect(target.gateway.state.upstreamsByName.get('alpha')!.config.baseUrl).toBe('https://moved.example.com/v2');

    const betaId = target.gateway.state.upstreamsByName.get('beta')!.config.id;
    const onlyAlpha: Doc = { version: 1, upstreams: [doc.upstreams[0]!], rules: doc.rules.filter((r) => r.upstream !== 'beta'), accessTokens: doc.accessTokens.filter((t) => t.name === 'ci') };
    const replaced = await gqlOk(target.url, ImportConfig, { json: onlyAlpha, mode: 'REPLACE' });
    expect(replaced.importConfig).toEqual({ upstreams: { created: 0, updated: 1, deleted: 1 }, rules: { created: 0, updated: 3, deleted: 0 }, accessTokens: { created: 0, updated: 1, deleted: 1 } });
    expect(await counts(target)).toEqual({ upstreams: 1, rules: 3, tokens: 1, keys: 0 });
    expect(target.gateway.state.upstreamsById.has(betaId)).toBe(false);
    expect(target.gateway.state.upstreamsByName.has('beta')).toBe(false);
    expect([...target.gateway.state.keys.values()].some((k) => k.upstreamId === betaId)).toBe(false);
  });

  it('writes nothing when the import fails midway, and names the field at fault', async () => {
    const before = await counts(target);
    const stateBefore = [...target.gateway.state.upstreamsByName.keys()];
    // Upstreams first, then a rule that points nowhere: found only inside the transaction.
    const failing: Doc = {
      version: 1,
      upstreams: [{ name: 'gamma', baseUrl: 'https://gamma.example.com' }, { name: 'delta', baseUrl: 'https://delta.example.com' }],
      rules: [{ upstream: 'gamma', name: 'ok', condition: { status: { equals: 500 } }, actions: ['LOG'] }, { upstream: 'missing', name: 'dangling', condition: { status: { equals: 500 } }, actions: ['LOG'] }],
      accessTokens: [],
    };
    const res = await gql(target.url, ImportConfig, { json: failing, mode: 'MERGE' });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'json.rules.1.upstream' });
    expect(await counts(target)).toEqual(before);
    expect([...target.gateway.state.upstreamsByName.keys()]).toEqual(stateBefore);
    const replace = await gql(target.url, ImportConfig, { json: { ...failing, rules: [failing.rules[1]] }, mode: 'REPLACE' });
    expect(replace.errors?.[0]?.extensions).toMatchObject({ field: 'json.rules.0.upstream' });
    expect(await counts(target)).toEqual(before);

    const bad: Array<[unknown, string]> = [
      [{ version: 2, upstreams: [] }, 'json.version'],
      [{ version: 1, upstreams: [{ name: 'x', baseUrl: 'ftp://nope' }] }, 'json.upstreams.0.baseUrl'],
      [{ version: 1, upstreams: [{ name: 'x', baseUrl: 'https://a.example.com' }, { name: 'x', baseUrl: 'https://b.example.com' }] }, 'json.upstreams.1.name'],
      [{ version: 1, rules: [{ name: 'r', condition: { body: { regex: '(open' } }, actions: ['LOG'] }] }, 'json.rules.0.condition.body.regex'],
      [{ version: 1, rules: [{ name: 'r', condition: { status: { equals: 500 } }, actions: ['DISABLE_KEY'] }] }, 'json.rules.0.disableForSeconds'],
      [{ version: 1, accessTokens: [{ name: 't', tokenHash: 'not-a-hash' }] }, 'json.accessTokens.0.tokenHash'],
    ];
    for (const [json, field] of bad) {
      const r = await gql(target.url, ImportConfig, { json });
      expect(r.errors?.[0]?.extensions, field).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    const text = await gql(target.url, ImportConfig, { json: '{ not json' });
    expect(text.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'json' });
    expect(await counts(target)).toEqual(before);
  });
});
