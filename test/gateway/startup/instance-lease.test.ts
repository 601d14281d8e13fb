// One instance per database until cluster mode exists (a second instance on one database): a
// second gateway on the same database refuses to start with one clear line;
// a clean shutdown releases the lease, and a crashed holder's lease is taken
// over once its heartbeat stops, so a crash never blocks its own restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstanceConflictError } from '../../../src/instance/lease.ts';
import { createTestDatabase, PROVIDERS, startTestGateway, type TestDatabase } from '../../support/gateway.ts';
import { spawnMain } from '../../support/spawn-main.ts';

const LEASE = { KEYRELAY_INSTANCE_LEASE_MS: '1500' };

describe.each(PROVIDERS)('the database lease (%s)', (provider) => {
  let dataDir: string;
  let database: TestDatabase;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'keyrelay-lease-'));
    database = await createTestDatabase(provider, dataDir);
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = (env: Record<string, string> = {}) => startTestGateway({ provider, dataDir, database, env: { ...LEASE, ...env } });

  it('refuses a second instance while the first serves, and lets one start after a clean shutdown', async () => {
    const first = await start();
    try {
      const refused = await start().then(
        async (t) => (await t.close({ drop: false }), null),
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(InstanceConflictError);
      const message = (refused as Error).message;
      expect(message).toContain('KEYRELAY_REDIS_URL');
      expect(message).toContain('not yet available');
      expect(message).not.toContain('\n');
    } finally {
      await first.close({ drop: false });
    }
    const next = await start();
    await next.close({ drop: false });
  }, 30_000);

  it('the built gateway prints one line and exits non-zero when the database is taken', async () => {
    const first = await start();
    try {
      const url = database.url;
      const main = spawnMain({ KEYRELAY_DATA_DIR: dataDir, DATABASE_URL: url, KEYRELAY_ADMIN_TOKEN: 'test-admin-token-0123456789abcdef', KEYRELAY_JOBS: 'false', ...LEASE });
      expect(await main.exited).not.toBe(0);
      const lines = main.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^keyrelay: another keyrelay instance .* KEYRELAY_REDIS_URL/);
    } finally {
      await first.close({ drop: false });
    }
  }, 30_000);

  it('takes over the lease of a holder that died without releasing it', async () => {
    const main = spawnMain({ KEYRELAY_DATA_DIR: dataDir, DATABASE_URL: database.url, KEYRELAY_ADMIN_TOKEN: 'test-admin-token-0123456789abcdef', KEYRELAY_JOBS: 'false', ...LEASE });
    await main.serving;
    main.child.kill('SIGKILL');
    await main.exited;
    const started = Date.now();
    const restarted = await start();
    // It waited for the dead holder's heartbeat to go stale, not much longer.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(restarted.logLines.join('\n')).toContain('took over the database lease');
    await restarted.close({ drop: false });
  }, 30_000);
});
