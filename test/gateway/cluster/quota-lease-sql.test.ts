// The quota lease statements against the machine's PostgreSQL: grants never
// exceed the limit under concurrency (and shrink to what is left), units go
// back once, expired leases are swept, exactly one holder is the last, and a
// quota reset clears the leases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseSql } from '../../../src/keys/quota-lease-sql.ts';
import { blockSize } from '../../../src/keys/quota-lease.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { admin, seedUpstream } from './counts-support.ts';

describe('quota lease statements on PostgreSQL', () => {
  let t: TestGateway;
  let keyId: string;
  const leased = async () => (await t.gateway.db.sql.query<{ quotaLeased: number }>('SELECT "quotaLeased" FROM "ApiKey" WHERE "id" = ?', [keyId]))[0].quotaLeased;
  const rows = async () => t.gateway.db.sql.query<{ instanceId: string; units: number }>('SELECT "instanceId", "units" FROM "QuotaLease" WHERE "keyId" = ? ORDER BY "instanceId"', [keyId]);

  beforeAll(async () => {
    t = await startTestGateway({ provider: 'postgres' });
    const up = await seedUpstream(t.url, { name: 'lease', baseUrl: 'http://127.0.0.1:9' }, [{ value: 'sk-lease-sql-00000000000000000000001', quota: 100 }]);
    keyId = up.keyIds[0];
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('blocks are 10% of the limit, at least 1 and at most 50', () => {
    expect([blockSize(1), blockSize(5), blockSize(100), blockSize(499), blockSize(10_000)]).toEqual([1, 1, 10, 50, 50]);
  });

  it('concurrent grants from two instances hand out exactly the limit, the last ones shrunk to what is left', async () => {
    const x = createLeaseSql(t.gateway.db.sql, 'x');
    const y = createLeaseSql(t.gateway.db.sql, 'y');
    const expires = Date.now() + 60_000;
    const grants = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? x : y).grant(keyId, 7, 0, expires)));
    expect(grants.reduce((a, b) => a + b, 0)).toBe(100);
    // 100 is no multiple of 7: some grant took what was left.
    expect(grants.some((g) => g > 0 && g < 7)).toBe(true);
    expect(await leased()).toBe(100);
    expect(await x.grant(keyId, 7, 0, expires)).toBe(0);

    // Units go back with the row that held them, once.
    await x.giveBack(keyId, 5);
    expect(await leased()).toBe(95);
    await x.giveBack(keyId, 5);
    expect(await leased()).toBe(95);
    expect((await rows()).map((r) => r.instanceId)).toEqual(['y']);
  });

  it('an expired lease (a crashed holder) is swept back; a live one stays', async () => {
    const z = createLeaseSql(t.gateway.db.sql, 'z');
    expect(await z.grant(keyId, 5, 0, Date.now() - 1000)).toBe(5);
    expect(await leased()).toBe(100);
    expect(await z.sweep(Date.now())).toBe(1);
    expect(await leased()).toBe(95);
    expect((await rows()).map((r) => r.instanceId)).toEqual(['y']);
    // Renewing finds only the caller's rows.
    const y = createLeaseSql(t.gateway.db.sql, 'y');
    expect([...(await y.renew(Date.now() + 60_000))]).toEqual([keyId]);
    expect([...(await z.renew(Date.now() + 60_000))]).toEqual([]);
  });

  it('of two holders whose blocks ran out, exactly one is the last', async () => {
    const x = createLeaseSql(t.gateway.db.sql, 'x');
    const y = createLeaseSql(t.gateway.db.sql, 'y');
    expect(await x.grant(keyId, 5, 0, Date.now() + 60_000)).toBe(5);
    const lasts = await Promise.all([x.releaseLast(keyId, Date.now()), y.releaseLast(keyId, Date.now())]);
    expect(lasts.filter(Boolean)).toHaveLength(1);
    expect(await rows()).toEqual([]);
  });

  it('a quota reset clears the leases with the count', async () => {
    const x = createLeaseSql(t.gateway.db.sql, 'x');
    await t.gateway.db.sql.execute('UPDATE "ApiKey" SET "quotaLeased" = 0 WHERE "id" = ?', [keyId]);
    expect(await x.grant(keyId, 10, 0, Date.now() + 60_000)).toBe(10);
    await admin(t.url, 'mutation($id: ID) { resetQuota(keyId: $id) { id } }', { id: keyId });
    expect(await leased()).toBe(0);
    expect(await rows()).toEqual([]);
    // The old holder's late give-back finds no row and returns nothing twice.
    await x.giveBack(keyId, 10);
    expect(await leased()).toBe(0);
  });
});
