// Issue 18's acceptance for rules: a `threshold: 3` rule with one 429
// through each of three instances fires once (one KeyEvent, one alert, one
// disable). `npm run -s build` first.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../support/cluster-instances.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { admin, proxied, seedToken, seedUpstream } from './counts-support.ts';

describe('rule firing across three instances', () => {
  let cluster: TestCluster;
  let mock: MockUpstream;
  let db: pg.Client;

  beforeAll(async () => {
    mock = await startMockUpstream();
    cluster = await startTestCluster(1);
    db = new pg.Client({ connectionString: cluster.database.url });
    await db.connect();
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await cluster?.close();
    await mock?.close();
  });

  it('one 429 through each of three instances fires a threshold-3 rule once', async () => {
    const [a] = cluster.instances;
    const KEY = 'sk-cluster-rule-0000000000000000001';
    mock.byKey[KEY] = 'status:429';
    const up = await seedUpstream(a.url, { name: 'rules', baseUrl: mock.url, maxRetries: 0 }, [{ value: KEY }]);
    await admin(a.url, 'mutation($input: CreateRuleInput!) { createRule(input: $input) { id } }', {
      input: { upstreamId: up.id, name: 'three 429s', condition: { status: { equals: 429 } }, actions: ['DISABLE_KEY', 'ALERT'], threshold: 3, windowSeconds: 60, cooldownSeconds: 60, disableForSeconds: 600 },
    });
    const token = await seedToken(a.url);
    const b = await cluster.start();
    const c = await cluster.start();

    const statuses: number[] = [];
    for (const instance of [a, b, c]) statuses.push((await proxied(instance.url, '/proxy/rules/v1/x', token)).status);
    expect(statuses).toEqual([429, 429, 429]);
    expect(mock.hitsByKey[KEY]).toBe(3);

    const events = async () => (await db.query(`SELECT "toStatus", "actor" FROM "KeyEvent" WHERE "keyId" = $1`, [up.keyIds[0]])).rows;
    const alerts = async () => Number((await db.query(`SELECT COUNT(*) AS n FROM "Alert" WHERE "keyId" = $1`, [up.keyIds[0]])).rows[0].n);
    await expect.poll(events, { timeout: 10_000 }).toEqual([{ toStatus: 'DISABLED', actor: 'RULE' }]);
    await expect.poll(alerts, { timeout: 10_000 }).toBe(1);
    // Stays once: no late second firing from another instance.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await events()).toHaveLength(1);
    expect(await alerts()).toBe(1);
  }, 120_000);
});
