// Issue 18's acceptance for quotas: two instances (child processes of the
// built gateway) on one PostgreSQL and one Redis spend one key's quota
// exactly. `npm run -s build` first.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../support/cluster-instances.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { admin, countBy, keyOn, seedToken, seedUpstream, spread } from './counts-support.ts';

describe('quota across two instances', () => {
  let cluster: TestCluster;
  let mock: MockUpstream;

  beforeAll(async () => {
    mock = await startMockUpstream();
    cluster = await startTestCluster(1);
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
    await mock?.close();
  });

  it('1,000 concurrent requests split across both against one key with quota 100: exactly 100 reach the upstream, used is 100 on both', async () => {
    const [a] = cluster.instances;
    const KEY = 'sk-cluster-quota-000000000000000001';
    const up = await seedUpstream(a.url, { name: 'quota', baseUrl: mock.url }, [{ value: KEY, quota: 100 }]);
    const token = await seedToken(a.url);
    // Started after the seeding, so it loads the upstream at boot (state sync between instances is another part).
    const b = await cluster.start();

    const replies = await spread([a.url, b.url], 1000, '/proxy/quota/v1/x', token);
    const statuses = countBy(replies, (r) => r.status);
    expect(mock.hitsByKey[KEY]).toBe(100);
    expect(statuses, JSON.stringify(statuses)).toEqual({ 200: 100, 503: 900 });

    // Each instance's API: the stored count (written in batches) and its own charges not stored yet.
    await expect.poll(async () => [(await keyOn(a.url, up.keyIds[0])).used, (await keyOn(b.url, up.keyIds[0])).used], { timeout: 15_000, interval: 200 }).toEqual([100, 100]);
    await expect.poll(async () => (await keyOn(a.url, up.keyIds[0])).status, { timeout: 10_000 }).toBe('EXHAUSTED');

    const db = new pg.Client({ connectionString: cluster.database.url });
    await db.connect();
    try {
      const { rows } = await db.query('SELECT "quotaUsed", "quotaLeased" FROM "ApiKey" WHERE "id" = $1', [up.keyIds[0]]);
      expect(rows[0]).toEqual({ quotaUsed: 100, quotaLeased: 100 });
      const events = await db.query('SELECT "toStatus", "actor" FROM "KeyEvent" WHERE "keyId" = $1', [up.keyIds[0]]);
      // The last instance whose block ran out marks the key: one event, not one per instance.
      expect(events.rows).toEqual([{ toStatus: 'EXHAUSTED', actor: 'QUOTA' }]);
    } finally {
      await db.end();
    }

    // A reset on A starts the new period on B too: B's count drops to 0 and B spends the fresh quota.
    await admin(a.url, `mutation($id: ID!) { resetQuota(keyId: $id) { id } }`, { id: up.keyIds[0] });
    await expect.poll(async () => [(await keyOn(b.url, up.keyIds[0])).used, (await keyOn(b.url, up.keyIds[0])).status], { timeout: 5_000, interval: 50 }).toEqual([0, 'ACTIVE']);
    const before = mock.hitsByKey[KEY]!;
    const again = await spread([b.url], 30, '/proxy/quota/v1/x', token);
    expect(countBy(again, (r) => r.status)).toEqual({ 200: 30 });
    expect(mock.hitsByKey[KEY]! - before).toBe(30);
  }, 120_000);
});
