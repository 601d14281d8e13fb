// KEYRELAY_INSTANCES=2: `npm start` (the built dist/main.js, so build first)
// runs two cluster-mode processes on one port with node:cluster, replaces
// one that dies, and stops them all on SIGTERM.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { instancesToStart, restartDelay } from '../../../src/cluster/supervisor.ts';
import { CLUSTER_SECRET } from '../../support/cluster-instances.ts';
import { createTestDatabase } from '../../support/gateway.ts';
import { REDIS_URL } from '../../support/redis.ts';
import { spawnMain } from '../../support/spawn-main.ts';
import { until } from './support.ts';

interface Serving {
  url: string;
  pid: number;
}

function servingLines(stdout: string): Serving[] {
  return stdout
    .split('\n')
    .filter((l) => l.includes('"msg":"keyrelay is serving"'))
    .map((l) => JSON.parse(l) as Serving);
}

describe('KEYRELAY_INSTANCES', () => {
  it('caps the count at the cores and backs off a crash loop', () => {
    expect(instancesToStart(8, 2)).toBe(2);
    expect(instancesToStart(2, 16)).toBe(2);
    expect(instancesToStart(1, 1)).toBe(1);
    expect([0, 1, 2, 3, 10].map(restartDelay)).toEqual([0, 1000, 2000, 4000, 30_000]);
  });

  it('=2 serves on one port from two processes, replaces a killed one, prints the admin token once and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyrelay-instances-'));
    const database = await createTestDatabase('postgres', dir);
    // No KEYRELAY_ADMIN_TOKEN: a first start generates one, and it must be shown once, not once per process.
    const main = spawnMain({ NODE_ENV: 'test', DATABASE_URL: database.url, KEYRELAY_REDIS_URL: REDIS_URL, KEYRELAY_SECRET: CLUSTER_SECRET, KEYRELAY_DATA_DIR: dir, KEYRELAY_INSTANCES: '2', KEYRELAY_JOBS: 'false' });
    try {
      await main.serving;
      await until(() => servingLines(main.stdout()).length === 2, 'two instances serving', 60_000);
      const [first, second] = servingLines(main.stdout()) as [Serving, Serving];
      expect(second.url).toBe(first.url);
      expect(second.pid).not.toBe(first.pid);
      expect(main.stdout().match(/keyrelay admin token/g)).toHaveLength(1);
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200);

      process.kill(second.pid, 'SIGKILL');
      await until(() => servingLines(main.stdout()).length === 3, 'a replacement instance', 60_000);
      const replacement = servingLines(main.stdout())[2]!;
      expect(replacement.url).toBe(first.url);
      expect([first.pid, second.pid]).not.toContain(replacement.pid);
      expect(main.stdout()).toContain('an instance exited; starting a new one');
      // Fresh connections land on both processes; every one is answered.
      for (let i = 0; i < 10; i++) expect((await fetch(`${first.url}/readyz`, { headers: { connection: 'close' } })).status).toBe(200);
      expect(main.stdout().match(/keyrelay admin token/g)).toHaveLength(1);

      main.child.kill('SIGTERM');
      expect(await main.exited).toBe(0);
      for (const pid of [first.pid, replacement.pid]) expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      if (main.child.exitCode === null) main.child.kill('SIGKILL');
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
