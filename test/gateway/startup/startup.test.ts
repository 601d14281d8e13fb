import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnMain } from '../../support/spawn-main.ts';
import { startMockUpstream } from '../../support/mock-upstream.ts';

/** Each case starts node processes; a loaded CI machine may take many seconds per start. */
const SPAWN_TIMEOUT = 180_000;
const dirs: string[] = [];
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'keyrelay-start-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('starting the gateway', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ KEYRELAY_SECRET: 'short' }, 'KEYRELAY_SECRET'],
  ])('exits non-zero with one line naming the variable for %o', { timeout: SPAWN_TIMEOUT }, async (env, variable) => {
    const main = spawnMain({ KEYRELAY_DATA_DIR: tempDir(), ...env });
    const code = await main.exited;
    expect(code).not.toBe(0);
    const lines = main.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(main.stdout()).toBe('');
  });

  it('creates its SQLite database and key file on first start, prints the admin token once, and keeps data across restarts', async () => {
    const dataDir = tempDir();
    const first = spawnMain({ KEYRELAY_DATA_DIR: dataDir });
    const url = await first.serving;
    expect(existsSync(join(dataDir, 'keyrelay.db'))).toBe(true);
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok', migrations: 'ok' } });

    const token = /kra_[A-Za-z0-9_-]{20,}/.exec(first.stdout())?.[0];
    expect(token).toBeDefined();
    // the token appears once, outside the JSON log lines
    expect(first.stdout().split(token!).length).toBe(2);
    expect(first.stdout().split('\n').filter((l) => l.startsWith('{')).join('\n')).not.toContain(token);

    const create = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'mutation { createUpstream(input: { name: "kept", baseUrl: "https://api.example.com/v1" }) { id } }' }),
    });
    expect((await create.json()).errors).toBeUndefined();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = spawnMain({ KEYRELAY_DATA_DIR: dataDir });
    const url2 = await second.serving;
    expect(second.stdout()).not.toMatch(/kra_/); // not printed again
    expect(second.stdout()).toContain('database schema up to date'); // no migration applied twice
    const list = await fetch(`${url2}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ upstreams { name } }' }),
    });
    expect(await list.json()).toEqual({ data: { upstreams: [{ name: 'kept' }] } });
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  }, SPAWN_TIMEOUT);

  it('refuses to start with a master key that does not match the data', async () => {
    const dataDir = tempDir();
    const first = spawnMain({ KEYRELAY_DATA_DIR: dataDir, KEYRELAY_SECRET: 'the-first-secret-0123456789' });
    await first.serving;
    first.child.kill('SIGTERM');
    await first.exited;
    const second = spawnMain({ KEYRELAY_DATA_DIR: dataDir, KEYRELAY_SECRET: 'another-secret-0123456789' });
    expect(await second.exited).not.toBe(0);
    expect(second.stderr()).toContain('master key does not match');
    expect(second.stdout() + second.stderr()).not.toContain('another-secret');
  }, SPAWN_TIMEOUT);

  it('finishes in-flight requests on SIGTERM before it exits', async () => {
    const mock = await startMockUpstream();
    const admin = 'drain-admin-token-0123456789';
    const main = spawnMain({ KEYRELAY_DATA_DIR: tempDir(), KEYRELAY_ADMIN_TOKEN: admin, KEYRELAY_JOBS: 'false' });
    try {
      const url = await main.serving;
      const gql = async (query: string) => {
        const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ query }) });
        return (await res.json()).data;
      };
      const { createUpstream } = await gql(`mutation { createUpstream(input: { name: "slow", baseUrl: "${mock.url}" }) { id } }`);
      await gql(`mutation { addKeys(upstreamId: "${createUpstream.id}", keys: [{ value: "sk-drain-0123456789abcdef" }]) { id } }`);
      const { createAccessToken } = await gql('mutation { createAccessToken(input: { name: "t" }) { token } }');
      const arrived = mock.waitForRequest();
      const pending = fetch(`${url}/proxy/slow/x`, { headers: { authorization: `Bearer ${createAccessToken.token}`, 'x-mock': 'slow:1000' } });
      await arrived;
      main.child.kill('SIGTERM');
      const res = await pending;
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ok: true });
      expect(await main.exited).toBe(0);
    } finally {
      main.child.kill('SIGKILL');
      await mock.close();
    }
  }, SPAWN_TIMEOUT);
});
