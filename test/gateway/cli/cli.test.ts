// The keyrelay bin, run as a child process the way an operator runs it:
// against a real gateway (in this process, or started by `keyrelay serve`).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../../src/db/migrate.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createUpstream, send } from '../proxy/support.ts';

const BIN = join(PROJECT_ROOT, 'dist', 'cli', 'keyrelay.js');

interface Run { code: number | null; stdout: string; stderr: string }

function run(args: string[], env: Record<string, string> = {}, command: string[] = [process.execPath, BIN]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, [...command.slice(1), ...args], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `keyrelay serve` until it logs that it serves; returns its URL and a stop function. */
function serve(env: Record<string, string>): Promise<{ url: string; stdout: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', KEYRELAY_JOBS: 'false', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (c) => (err += c));
    child.stdout.on('data', (c) => {
      out += c;
      const match = /"url":"(http:[^"]+)".*"msg":"keyrelay is serving"/.exec(out);
      if (match) resolve({ url: match[1]!, stdout: () => out, stop: () => (child.kill('SIGTERM'), exited) });
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${err || out}`)));
  });
}

const adminQuery = (url: string, token: string) =>
  fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query: '{ upstreams { name } }' }) });

describe('the keyrelay CLI', () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let dir: string;
  let remote: Record<string, string>;

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway();
    dir = mkdtempSync(join(tmpdir(), 'keyrelay-cli-'));
    remote = { KEYRELAY_URL: t.url, KEYRELAY_ADMIN_TOKEN: ADMIN_TOKEN };
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the built bin is executable (npx runs it from a warm cache without setting its mode)', () => {
    expect(statSync(BIN).mode & 0o111).toBe(0o111);
  });

  it('npx keyrelay --help lists the commands', async () => {
    const res = await run(['--help'], { npm_config_yes: 'true', npm_config_update_notifier: 'false' }, ['npx', '--no-install', 'keyrelay']);
    expect(res.code).toBe(0);
    for (const command of ['serve', 'migrate', 'config check <file>', 'config export', 'admin-token reset', 'keys import <upstream> <file>', 'tokens create <name>']) {
      expect(res.stdout).toContain(`  ${command}`);
    }
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it('keys import of 10,000 lines shows progress and the import report, with the file\'s own line numbers', async () => {
    await createUpstream(t, mock, { name: 'bulk' }, []);
    const lines = Array.from({ length: 10_000 }, (_, i) => `sk-bulk-${String(i).padStart(24, '0')}`);
    lines[4_321] = 'has white space'; // line 4322
    lines[9_998] = lines[0]!; // line 9999 repeats line 1
    writeFileSync(join(dir, 'keys.txt'), `${lines.join('\n')}\n`);
    const res = await run(['keys', 'import', 'bulk', join(dir, 'keys.txt')], remote);
    expect(res.stderr.match(/keys import: \d+\/10000 lines sent/g)).toHaveLength(10);
    expect(res.stderr).toContain('keys import: 10000/10000 lines sent (added 9998, skipped 1, invalid 1)');
    expect(res.stdout).toContain('imported into bulk: 9998 added, 1 skipped (already in the pool or repeated), 1 invalid');
    expect(res.stdout).toMatch(/line 4322: value: must not contain white space/);
    expect(res.code).toBe(1);
    expect(t.gateway.state.upstreamsByName.get('bulk')!.keys.size).toBe(9998);
    expect(res.stdout + res.stderr).not.toContain('sk-bulk-');
  }, 120_000);

  it('keys import keeps batches of long keys under the API\'s body limit', async () => {
    await createUpstream(t, mock, { name: 'long' }, []);
    // 300 keys of 4,000 characters: 1.2 MB, more than the 1 MiB a GraphQL request may carry.
    const lines = Array.from({ length: 300 }, (_, i) => `sk-${String(i).padStart(4, '0')}${'x'.repeat(3993)}`);
    writeFileSync(join(dir, 'long.txt'), lines.join('\n'));
    const res = await run(['keys', 'import', 'long', join(dir, 'long.txt')], remote);
    expect(res.stderr, res.stderr).toMatch(/300\/300 lines sent \(added 300, skipped 0, invalid 0\)/);
    expect(res.stderr.match(/lines sent/g)!.length).toBeGreaterThan(1);
    expect(res.code).toBe(0);
  });

  it('tokens create prints a token that works, limited to the upstreams named', async () => {
    await createUpstream(t, mock, { name: 'tok-a' }, [{ value: 'sk-tok-a-000000000000000000000001' }]);
    await createUpstream(t, mock, { name: 'tok-b' }, [{ value: 'sk-tok-b-000000000000000000000001' }]);
    const res = await run(['tokens', 'create', 'ci-client', '--upstream', 'tok-a'], remote);
    expect(res.code).toBe(0);
    const token = res.stdout.trim();
    expect(token).toMatch(/^kr_/);
    expect((await send(t.url, { path: '/proxy/tok-a/x', headers: bearer(token) })).status).toBe(200);
    // Another upstream is hidden from it: the same 404 as a name that does not exist.
    expect((await send(t.url, { path: '/proxy/tok-b/x', headers: bearer(token) })).status).toBe(404);
    const wrong = await run(['tokens', 'create', 'x'], { ...remote, KEYRELAY_ADMIN_TOKEN: 'not-the-admin-token-000' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/UNAUTHENTICATED/);
  });

  it('config export prints the running configuration; config check validates a file offline, by line', async () => {
    const exported = await run(['config', 'export'], remote);
    expect(exported.code).toBe(0);
    const doc = parse(exported.stdout) as { version: number; upstreams: Array<{ name: string }> };
    expect(doc.version).toBe(1);
    expect(doc.upstreams.map((u) => u.name)).toContain('bulk');
    expect(exported.stdout).not.toContain('sk-');
    const file = join(dir, 'exported.yaml');
    writeFileSync(file, exported.stdout);
    const ok = await run(['config', 'check', file]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/is valid: \d+ upstreams/);
    writeFileSync(file, 'version: 1\nkeys:\n  - upstream: bulk\n    value: ${CLI_UNSET_KEY}\n');
    const unset = await run(['config', 'check', file]);
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain(`${file}:4:12 keys.0.value: environment variable CLI_UNSET_KEY is not set`);
    expect((await run(['config', 'check', file, '--allow-unset'])).code).toBe(0);
    writeFileSync(file, 'version: 1\nupstreams:\n  - name: x\n    baseUrl: ftp://nope\n');
    const bad = await run(['config', 'check', file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${file}:4:14 upstreams.0.baseUrl: must be an absolute http(s) URL`);
  });

  it('serve with a broken KEYRELAY_CONFIG exits with status 2, naming the line and field', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'version: 1\nupstreams:\n  - name: ok\n    baseUrl: https://example.com\n    maxRetries: 99\n');
    const data = mkdtempSync(join(dir, 'data-'));
    const child = spawn(process.execPath, [BIN, 'serve'], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', PORT: '0', KEYRELAY_DATA_DIR: data, KEYRELAY_CONFIG: file }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}:5:17 upstreams.0.maxRetries: Too big`);
  });

  it('migrate, then admin-token reset on a stopped gateway prints a token that works on the next start', async () => {
    const data = mkdtempSync(join(dir, 'data-'));
    const env = { KEYRELAY_DATA_DIR: data, LOG_LEVEL: 'info' };
    const migrated = await run(['migrate'], env);
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(/^applied: /);
    expect((await run(['migrate'], env)).stdout).toBe('no pending migrations\n');

    const first = await serve(env);
    const generated = /keyrelay admin token[^\n]*\n\n\s+(kra_\S+)/.exec(first.stdout())?.[1];
    expect(generated).toBeDefined();
    expect((await adminQuery(first.url, generated!)).status).toBe(200);
    expect(await first.stop()).toBe(0);

    const reset = await run(['admin-token', 'reset'], env);
    expect(reset.code).toBe(0);
    const token = reset.stdout.trim();
    expect(token).toMatch(/^kra_/);
    expect(reset.stderr).toContain('shown once');

    const second = await serve(env);
    try {
      expect((await adminQuery(second.url, token)).status).toBe(200);
      expect((await adminQuery(second.url, generated!)).status).toBe(401);
      expect(second.stdout()).not.toContain(token);
    } finally {
      await second.stop();
    }
  }, 120_000);
});
