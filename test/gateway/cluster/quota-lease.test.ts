// One cluster-mode gateway in-process: its quota blocks as the proxy sees
// them (leased at start, spent in memory, voided by a reset and leased again,
// given back at shutdown), and a single instance that never leases.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, startTestGateway, type TestDatabase, type TestGateway } from '../../support/gateway.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { REDIS_URL } from '../../support/redis.ts';
import { CLUSTER_SECRET } from '../../support/cluster-instances.ts';
import { startTcpRelay } from '../../support/tcp-relay.ts';
import { admin, proxied, seedToken, seedUpstream } from './counts-support.ts';

describe('quota blocks of one cluster-mode gateway', () => {
  let database: TestDatabase;
  let t: TestGateway;
  let mock: MockUpstream;

  beforeAll(async () => {
    mock = await startMockUpstream();
    database = await createTestDatabase('postgres', mkdtempSync(join(tmpdir(), 'keyrelay-lease-')));
    t = await startTestGateway({ provider: 'postgres', database, env: { KEYRELAY_REDIS_URL: REDIS_URL, KEYRELAY_SECRET: CLUSTER_SECRET } });
  }, 60_000);
  afterAll(async () => {
    await t?.close({ drop: false });
    await database?.drop();
    await mock?.close();
  });

  it('leases a block, spends it in memory, leases again after a reset and gives the unused units back at shutdown', async () => {
    const up = await seedUpstream(t.url, { name: 'blocks', baseUrl: mock.url }, [{ value: 'sk-cluster-blocks-0000000000000000001', quota: 100 }]);
    const token = await seedToken(t.url);
    const key = () => t.gateway.state.keys.get(up.keyIds[0])!;
    const stored = async () => (await t.gateway.db.sql.query<{ quotaLeased: number }>('SELECT "quotaLeased" FROM "ApiKey" WHERE "id" = ?', [up.keyIds[0]]))[0].quotaLeased;

    // A new key has no block until the upkeep (or a request) leases one.
    await expect.poll(() => key().leaseLeft, { timeout: 5000 }).toBe(10);
    for (let i = 0; i < 3; i++) expect((await proxied(t.url, '/proxy/blocks/v1/x', token)).status).toBe(200);
    expect(key().leaseLeft).toBe(7);
    expect(key().used).toBe(3);
    expect(await stored()).toBe(10);

    await admin(t.url, 'mutation($id: ID) { resetQuota(keyId: $id) { id } }', { id: up.keyIds[0] });
    expect(key().used).toBe(0);
    expect(await stored()).toBe(0);
    // The old period's block is void; a fresh one comes.
    await expect.poll(() => key().leaseLeft, { timeout: 5000 }).toBe(10);
    expect(await stored()).toBe(10);
    for (let i = 0; i < 4; i++) expect((await proxied(t.url, '/proxy/blocks/v1/x', token)).status).toBe(200);

    await t.gateway.close();
    // What this instance spent stays leased; the rest went back.
    const sql = (await import('pg')).default;
    const db = new sql.Client({ connectionString: database.url });
    await db.connect();
    try {
      expect((await db.query('SELECT "quotaLeased" FROM "ApiKey" WHERE "id" = $1', [up.keyIds[0]])).rows[0].quotaLeased).toBe(4);
      expect((await db.query('SELECT COUNT(*)::int AS n FROM "QuotaLease"')).rows[0].n).toBe(0);
    } finally {
      await db.end();
    }
    // Closed here: afterAll's close is then a second close.
    t = { ...t, close: async () => {} };
  }, 60_000);

  it('with PostgreSQL cut, a key serves what its block holds, then requests are answered at once instead of held to their deadline', async () => {
    const db = await createTestDatabase('postgres', mkdtempSync(join(tmpdir(), 'keyrelay-lease-')));
    const relay = await startTcpRelay({ host: '127.0.0.1', port: Number(new URL(db.url).port || 5432) });
    const g = await startTestGateway({ provider: 'postgres', database: db, env: { DATABASE_URL: relay.url(db.url), KEYRELAY_REDIS_URL: REDIS_URL, KEYRELAY_SECRET: CLUSTER_SECRET } });
    try {
      const up = await seedUpstream(g.url, { name: 'pgcut', baseUrl: mock.url, deadlineMs: 10_000 }, [{ value: 'sk-cluster-pgcut-0000000000000000001', quota: 100 }]);
      const token = await seedToken(g.url);
      await expect.poll(() => g.gateway.state.keys.get(up.keyIds[0])!.leaseLeft, { timeout: 5000 }).toBe(10);
      relay.cut();
      const replies = [];
      for (let i = 0; i < 14; i++) replies.push(await proxied(g.url, '/proxy/pgcut/v1/x', token));
      // The block, exactly: nothing beyond what was leased before the cut.
      expect(replies.filter((r) => r.status === 200)).toHaveLength(10);
      expect(replies.slice(10).map((r) => r.status)).toEqual([503, 503, 503, 503]);
      expect(Math.max(...replies.map((r) => r.ms))).toBeLessThan(2000);
      relay.restore();
      // Back: blocks are leased again.
      await expect.poll(async () => (await proxied(g.url, '/proxy/pgcut/v1/x', token)).status, { timeout: 20_000, interval: 500 }).toBe(200);
    } finally {
      relay.restore();
      await g.close({ drop: false });
      await relay.close();
      await db.drop();
    }
  }, 90_000);

  it('a single instance never leases: leaseLeft stays null', async () => {
    const single = await startTestGateway({ provider: 'postgres' });
    try {
      const up = await seedUpstream(single.url, { name: 'single', baseUrl: mock.url }, [{ value: 'sk-single-blocks-0000000000000000001', quota: 5 }]);
      const token = await seedToken(single.url);
      expect((await proxied(single.url, '/proxy/single/v1/x', token)).status).toBe(200);
      expect(single.gateway.state.keys.get(up.keyIds[0])).toMatchObject({ used: 1, leaseLeft: null });
      expect((await single.gateway.db.sql.query<{ n: number }>('SELECT COUNT(*)::int AS "n" FROM "QuotaLease"'))[0].n).toBe(0);
    } finally {
      await single.close();
    }
  }, 60_000);
});
