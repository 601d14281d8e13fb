// A newcomer's first starts: a taken port, an unreachable or foreign
// database. Each failure is one line naming the cause and the fix, and a
// failed first start never swallows the admin token.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnMain } from '../../support/spawn-main.ts';

/** Each case starts node processes; a loaded CI machine may take many seconds per start. */
const SPAWN_TIMEOUT = 180_000;
const dirs: string[] = [];
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'keyrelay-first-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A port held by another listener for the test's duration. */
async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

function expectOneLine(stderr: string, ...parts: string[]): void {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  for (const part of parts) expect(lines[0]).toContain(part);
  expect(lines[0]).not.toMatch(/\n\s+at /);
}

describe('first starts', () => {
  it('a taken port: one line naming PORT; the next start on a free port prints the admin token, which works', async () => {
    const dataDir = tempDir();
    const held = await takenPort();
    try {
      const failed = spawnMain({ KEYRELAY_DATA_DIR: dataDir, PORT: String(held.port), KEYRELAY_JOBS: 'false' });
      expect(await failed.exited).toBe(1);
      expectOneLine(failed.stderr(), `port ${held.port}`, 'already in use', 'PORT');
      expect(failed.stdout()).not.toMatch(/kra_/);
      expect(failed.stdout()).not.toMatch(/"level":60/);
    } finally {
      await new Promise<void>((resolve) => held.server.close(() => resolve()));
    }

    const second = spawnMain({ KEYRELAY_DATA_DIR: dataDir, KEYRELAY_JOBS: 'false' });
    try {
      const url = await second.serving;
      const token = /kra_[A-Za-z0-9_-]{20,}/.exec(second.stdout())?.[0];
      expect(token).toBeDefined();
      expect(second.stdout()).toContain('KEYRELAY_ADMIN_TOKEN');
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ upstreams { name } }' }),
      });
      expect(await res.json()).toEqual({ data: { upstreams: [] } });
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }

    // Once stored, later starts say how to recover instead of printing a token.
    const third = spawnMain({ KEYRELAY_DATA_DIR: dataDir, KEYRELAY_JOBS: 'false' });
    try {
      await third.serving;
      expect(third.stdout()).not.toMatch(/kra_/);
      expect(third.stdout()).toContain('Lost it? Stop keyrelay and run `npx keyrelay admin-token reset`');
      expect(third.stdout()).toContain('or set KEYRELAY_ADMIN_TOKEN');
    } finally {
      third.child.kill('SIGTERM');
      await third.exited;
    }
  }, SPAWN_TIMEOUT);

  it('a second keyrelay on the same data directory: one line saying another instance serves that database', async () => {
    const dataDir = tempDir();
    const first = spawnMain({ KEYRELAY_DATA_DIR: dataDir, KEYRELAY_JOBS: 'false' });
    try {
      await first.serving;
      const second = spawnMain({ KEYRELAY_DATA_DIR: dataDir, KEYRELAY_JOBS: 'false' });
      // The instance lease refuses it before the SQLite file's lock is ever met.
      expect(await second.exited).not.toBe(0);
      expectOneLine(second.stderr(), 'another keyrelay instance', 'is serving this database', 'KEYRELAY_REDIS_URL');
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
  }, SPAWN_TIMEOUT);

  it('an unreachable PostgreSQL: one line naming the database and DATABASE_URL, no password, no stack', async () => {
    const held = await takenPort();
    await new Promise<void>((resolve) => held.server.close(() => resolve()));
    const main = spawnMain({ KEYRELAY_DATA_DIR: tempDir(), DATABASE_URL: `postgresql://postgres:do-not-print@127.0.0.1:${held.port}/keyrelay` });
    expect(await main.exited).toBe(1);
    expectOneLine(main.stderr(), 'cannot reach PostgreSQL', `127.0.0.1:${held.port}`, 'DATABASE_URL');
    expect(main.stderr() + main.stdout()).not.toContain('do-not-print');
    expect(main.stdout()).not.toMatch(/"level":60/);
  }, SPAWN_TIMEOUT);

  it('a database that is not keyrelay’s (migrations cannot apply): one line saying so', async () => {
    const dataDir = tempDir();
    const db = new Database(join(dataDir, 'keyrelay.db'));
    db.exec('CREATE TABLE "Upstream" ("something" TEXT)');
    db.close();
    const main = spawnMain({ KEYRELAY_DATA_DIR: dataDir });
    expect(await main.exited).toBe(1);
    expectOneLine(main.stderr(), 'database schema could not be brought up to date', 'DATABASE_URL');
  }, SPAWN_TIMEOUT);
});
