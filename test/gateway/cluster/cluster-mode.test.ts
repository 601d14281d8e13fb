import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { createTestDatabase, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { REDIS_URL } from '../../support/redis.ts';
import { startTcpRelay } from '../../support/tcp-relay.ts';

const SECRET = 'cluster-test-master-secret-0123456789';

describe('cluster mode', () => {
  it('refuses SQLite with one line naming the setting, without echoing the Redis URL', () => {
    const env = { DATABASE_URL: 'file:/tmp/x.db', KEYRELAY_REDIS_URL: 'redis://:hunter2secret@127.0.0.1:6379', KEYRELAY_SECRET: SECRET };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(/KEYRELAY_REDIS_URL.*PostgreSQL/);
    try {
      loadConfig(env);
    } catch (error) {
      expect(String(error)).not.toContain('hunter2secret');
    }
    expect(() => loadConfig({ KEYRELAY_INSTANCES: '2' })).toThrow(/KEYRELAY_INSTANCES.*cluster mode/);
    expect(() => loadConfig({ DATABASE_URL: 'postgresql://u@h/db', KEYRELAY_REDIS_URL: 'http://:pw@x', KEYRELAY_SECRET: SECRET })).toThrow(/redis:\/\//);
    expect(() => loadConfig({ DATABASE_URL: 'postgresql://u@h/db', KEYRELAY_REDIS_URL: REDIS_URL })).toThrow(/KEYRELAY_SECRET.*every instance/);
  });

  describe('two instances on one PostgreSQL and one Redis', () => {
    const started: TestGateway[] = [];
    afterAll(async () => {
      for (const g of started.reverse()) await g.close({ drop: g === started[started.length - 1] });
    });

    it('start side by side (no lease), share a cluster id and report redis in /readyz, degraded while it is cut', async () => {
      const database = await createTestDatabase('postgres', mkdtempSync(join(tmpdir(), 'keyrelay-cluster-')));
      const relay = await startTcpRelay({ host: '127.0.0.1', port: Number(new URL(REDIS_URL).port || 6379) });
      try {
        const a = await startTestGateway({ provider: 'postgres', database, env: { KEYRELAY_REDIS_URL: relay.url(REDIS_URL), KEYRELAY_SECRET: SECRET } });
        started.push(a);
        const b = await startTestGateway({ provider: 'postgres', database, env: { KEYRELAY_REDIS_URL: REDIS_URL, KEYRELAY_SECRET: SECRET } });
        started.push(b);
        expect(a.gateway.cluster!.prefix).toBe(b.gateway.cluster!.prefix);
        expect(a.gateway.cluster!.instanceId).not.toBe(b.gateway.cluster!.instanceId);
        const ready = await (await fetch(`${a.url}/readyz`)).json();
        expect(ready.checks.redis).toBe('ok');

        relay.cut();
        await expect.poll(async () => (await (await fetch(`${a.url}/readyz`)).json()).checks.redis, { timeout: 5000 }).toBe('degraded');
        relay.restore();
        await expect.poll(async () => (await (await fetch(`${a.url}/readyz`)).json()).checks.redis, { timeout: 10_000 }).toBe('ok');
        expect(a.logLines.filter((l) => l.includes('redis')), a.logLines.filter((l) => l.includes('redis')).join('\n')).toHaveLength(2);
        expect(a.logLines.join('\n')).not.toContain(REDIS_URL.replace('redis://', ''));
      } finally {
        await relay.close();
      }
    });
  });
});

describe('cluster instances as child processes', () => {
  it('serve side by side on one database', async () => {
    const { startTestCluster } = await import('../../support/cluster-instances.ts');
    const cluster = await startTestCluster(2);
    try {
      for (const instance of cluster.instances) {
        const ready = await (await fetch(`${instance.url}/readyz`)).json();
        expect(ready).toMatchObject({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
      }
    } finally {
      await cluster.close();
    }
  });
});
