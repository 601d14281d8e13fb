// KEYRELAY_CONFIG: the file applied at start, twice to the same effect, keys
// by environment reference (stored encrypted, never logged or exported), and a
// broken file refused with its line and field.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { createTestDatabase, PROVIDERS, startTestGateway, type TestDatabase, type TestGateway } from '../../support/gateway.ts';
import { gql } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { send } from '../proxy/support.ts';

const ExportConfig = graphql(`mutation OpsExportConfig { exportConfig }`);
const ExportKeys = graphql(`mutation OpsExportKeys($upstreamId: ID!) { exportKeys(upstreamId: $upstreamId) { keys { name fingerprint weight quota value } csv } }`);
const TABLES = ['Upstream', 'ApiKey', 'Rule', 'AccessToken', 'KeyEvent', 'Setting'];

function fileText(mockUrl: string, opts: { weight2: number; withSecond: boolean }): string {
  return `# keyrelay as code
version: 1
upstreams:
  - name: cfg-openai
    baseUrl: ${mockUrl}
    strategy: WEIGHTED
    retryBaseMs: 1
    headers: { x-org: "\${CFG_ORG}" }
rules:
  - upstream: cfg-openai
    name: ban on 401
    condition: { status: { equals: 401 } }
    actions: [BAN_KEY]
accessTokens:
  - name: app
    token: \${CFG_APP_TOKEN}
    upstreams: [cfg-openai]
keys:
  - upstream: cfg-openai
    value: \${CFG_KEY_1}
    name: first
    weight: 1
    quota: 1000
${opts.withSecond ? `  - upstream: cfg-openai\n    value: \${CFG_KEY_2}\n    name: second\n    weight: ${opts.weight2}\n` : ''}`;
}

describe.each(PROVIDERS)('KEYRELAY_CONFIG on %s', (provider) => {
  const secrets = { CFG_KEY_1: `sk-cfg-one-${randomUUID()}`, CFG_KEY_2: `sk-cfg-two-${randomUUID()}`, CFG_APP_TOKEN: `kr_app_${randomUUID()}`, CFG_ORG: 'org-1' };
  let dir: string;
  let database: TestDatabase;
  let mock: MockUpstream;
  const logs: string[] = [];
  const open: TestGateway[] = [];

  beforeAll(async () => {
    Object.assign(process.env, secrets);
    dir = mkdtempSync(join(tmpdir(), 'keyrelay-cfg-'));
    database = await createTestDatabase(provider, dir);
    mock = await startMockUpstream();
  });
  afterAll(async () => {
    for (const t of open) await t.close({ drop: false }).catch(() => {});
    await database?.drop();
    await mock?.close();
    rmSync(dir, { recursive: true, force: true });
    for (const name of Object.keys(secrets)) delete process.env[name];
  });

  async function start(text: string): Promise<TestGateway> {
    const file = join(dir, `keyrelay-${randomUUID().slice(0, 6)}.yaml`);
    writeFileSync(file, text);
    const t = await startTestGateway({ provider, dataDir: dir, database, env: { KEYRELAY_CONFIG: file } });
    open.push(t);
    return t;
  }
  async function stop(t: TestGateway): Promise<void> {
    logs.push(...t.logLines);
    await t.close({ drop: false });
    open.splice(open.indexOf(t), 1);
  }
  async function snapshot(t: TestGateway): Promise<Record<string, unknown[]>> {
    const out: Record<string, unknown[]> = {};
    for (const table of TABLES) out[table] = await t.gateway.db.sql.query(`SELECT * FROM "${table}" ORDER BY 1`);
    return out;
  }

  it('applied twice gives the same database, row by row; the keys work and stay secret', async () => {
    const text = fileText(mock.url, { weight2: 3, withSecond: true });
    const first = await start(text);
    const before = await snapshot(first);
    expect(before.ApiKey).toHaveLength(2);
    expect(before.Upstream).toHaveLength(1);
    expect(before.Rule).toHaveLength(1);
    expect(before.AccessToken).toHaveLength(1);
    // The token from the environment works; the key from the environment reaches the upstream.
    const res = await send(first.url, { path: '/proxy/cfg-openai/x', headers: { authorization: `Bearer ${secrets.CFG_APP_TOKEN}` } });
    expect(res.status).toBe(200);
    expect([secrets.CFG_KEY_1, secrets.CFG_KEY_2]).toContain(mock.keysSeen.at(-1));
    expect(mock.requests.at(-1)?.headers['x-org']).toBe('org-1');
    await first.gateway.logs.flush();
    const exported = [(await gql(first.url, ExportConfig, {})).text, (await gql(first.url, ExportKeys, { upstreamId: (before.Upstream[0] as { id: string }).id })).text];
    await stop(first);

    const second = await start(text);
    const after = await snapshot(second);
    // The request above added a log row and usage; compare what the file manages, then the rest as it was left.
    expect(after).toEqual(await (async () => ({ ...before, ApiKey: after.ApiKey, AccessToken: after.AccessToken }))());
    const manage = (rows: unknown[]) => rows.map((r) => { const { quotaUsed: _q, requestCount: _r, lastUsedAt: _l, promptTokens: _p, completionTokens: _c, updatedAt: _u, ...rest } = r as Record<string, unknown>; return rest; });
    expect(manage(after.ApiKey)).toEqual(manage(before.ApiKey));
    expect(after.AccessToken.map((r) => ({ ...(r as object), lastUsedAt: null }))).toEqual(before.AccessToken.map((r) => ({ ...(r as object), lastUsedAt: null })));
    const third = await snapshot(second);
    await stop(second);
    const again = await start(text);
    expect(await snapshot(again)).toEqual(third);
    exported.push((await gql(again.url, ExportConfig, {})).text);
    await stop(again);

    for (const row of after.ApiKey as Array<{ secretCipher: string }>) expect(row.secretCipher.startsWith('v1:')).toBe(true);
    const everything = [...logs, ...exported, JSON.stringify(after, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))].join('\n');
    for (const secret of [secrets.CFG_KEY_1, secrets.CFG_KEY_2, secrets.CFG_APP_TOKEN]) expect(everything).not.toContain(secret);
    expect(logs.some((l) => l.includes('config file applied'))).toBe(true);
  });

  it('a changed file edits keys in place; a key left out is kept and named in a warning', async () => {
    const t = await start(fileText(mock.url, { weight2: 3, withSecond: true }));
    const ids = (await snapshot(t)).ApiKey.map((r) => (r as { id: string }).id);
    await stop(t);
    const changed = await start(fileText(mock.url, { weight2: 7, withSecond: true }).replace('weight: 1\n', 'weight: 2\n'));
    const rows = (await snapshot(changed)).ApiKey as Array<{ id: string; name: string; weight: number }>;
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(Object.fromEntries(rows.map((r) => [r.name, Number(r.weight)]))).toEqual({ first: 2, second: 7 });
    expect(changed.gateway.state.upstreamsByName.get('cfg-openai')!.keys.size).toBe(2);
    await stop(changed);
    const shorter = await start(fileText(mock.url, { weight2: 7, withSecond: false }));
    expect((await snapshot(shorter)).ApiKey).toHaveLength(2);
    expect(shorter.logLines.some((l) => l.includes('"keysNotInFile":1'))).toBe(true);
    await stop(shorter);
  });

  it('a broken file stops the start with the line and field at fault, before the database is touched', async () => {
    const broken = fileText(mock.url, { weight2: 3, withSecond: true }).replace('strategy: WEIGHTED', 'strategy: HEAVIEST').replace('weight: 3', 'weight: -3');
    await expect(start(broken)).rejects.toThrow(/keyrelay-\w+\.yaml:6:15 upstreams\.0\.strategy: .*\n.*:27:13 keys\.1\.weight: /);
    await expect(start('version: 1\nupstreams: [\n')).rejects.toThrow(/\.yaml:\d+:\d+ /);
    delete process.env.CFG_KEY_2;
    await expect(start(fileText(mock.url, { weight2: 3, withSecond: true }))).rejects.toThrow(/:25:12 keys\.1\.value: environment variable CFG_KEY_2 is not set/);
    process.env.CFG_KEY_2 = secrets.CFG_KEY_2;
  });
});
