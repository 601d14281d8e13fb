import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../support/cluster-instances.ts';
import { gqlOk } from '../../support/graphql-client.ts';

const CREATE_UPSTREAM = `mutation ($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }`;
const ADD_KEYS = `mutation ($upstreamId: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $upstreamId, keys: $keys) { id } }`;
const RENAME = `mutation ($id: ID!) { updateKey(id: $id, input: { name: "reloaded" }) { id } }`;
const DISABLE = `mutation ($id: ID!, $until: DateTime) { setKeyStatus(id: $id, status: DISABLED, until: $until, reason: "test") { id status } }`;

interface TimerEvent {
  keyId: string;
  createdAt: Date;
  toStatus: string;
}

// Two cluster-mode instances of the built gateway (npm run -s build first),
// jobs off so only the instances' return timers can bring a key back. B
// learns of a disable made on A from the database: when it starts, or when
// it re-reads the key (here an admin change on B; in production also the
// state sync that carries A's change over Redis).
describe('return timers across instances', () => {
  let cluster: TestCluster;
  let db: pg.Client;
  beforeAll(async () => {
    cluster = await startTestCluster(1);
    db = new pg.Client({ connectionString: cluster.database.url });
    await db.connect();
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await cluster?.close();
  });

  const timerEvents = async (keyId: string) =>
    (await db.query<TimerEvent>(`SELECT "keyId", "createdAt", "toStatus" FROM "KeyEvent" WHERE "keyId" = $1 AND "actor" = 'TIMER' ORDER BY "id"`, [keyId])).rows;
  const statusOf = async (keyId: string) => (await db.query<{ status: string }>('SELECT "status" FROM "ApiKey" WHERE "id" = $1', [keyId])).rows[0]!.status;

  it('a key returns once while both run, and on time from B after A is killed', async () => {
    const [a] = cluster.instances;
    const upstreamId = (await gqlOk<{ createUpstream: { id: string } }, unknown>(a!.url, CREATE_UPSTREAM, { input: { name: 'timers', baseUrl: 'http://127.0.0.1:9' } })).createUpstream.id;
    const keys = (await gqlOk<{ addKeys: Array<{ id: string }> }, unknown>(a!.url, ADD_KEYS, { upstreamId, keys: [{ value: 'sk-timer-both-000001' }, { value: 'sk-timer-killed-00002' }, { value: 'sk-timer-reload-00003' }] })).addKeys;
    const [both, killed, reloaded] = keys.map((k) => k.id) as [string, string, string];
    const start = Date.now();
    const bothUntil = start + 16_000;
    const killedUntil = start + 21_000;
    await gqlOk(a!.url, DISABLE, { id: both, until: new Date(bothUntil).toISOString() });
    await gqlOk(a!.url, DISABLE, { id: killed, until: new Date(killedUntil).toISOString() });

    // B reads both disabled keys from the database at its start and arms their timers.
    const b = await cluster.start();
    // This one is disabled on A once B runs: B arms its timer when it re-reads the key.
    const reloadedUntil = killedUntil + 1000;
    await gqlOk(a!.url, DISABLE, { id: reloaded, until: new Date(reloadedUntil).toISOString() });
    await gqlOk(b.url, RENAME, { id: reloaded });
    expect(Date.now(), 'B started too late for this test').toBeLessThan(bothUntil - 1000);

    await expect.poll(() => statusOf(both), { timeout: bothUntil - Date.now() + 5_000, interval: 200 }).toBe('ACTIVE');
    // Both instances' timers fired; one claimed the return. Wait past any late second writer.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const bothEvents = await timerEvents(both);
    expect(bothEvents, JSON.stringify(bothEvents)).toHaveLength(1);
    expect(bothEvents[0]!.toStatus).toBe('ACTIVE');

    await a!.kill();
    expect(Date.now(), 'A was killed after its timer would have fired').toBeLessThan(killedUntil - 500);
    await expect.poll(() => statusOf(killed), { timeout: killedUntil - Date.now() + 5_000, interval: 200 }).toBe('ACTIVE');
    const killedEvents = await timerEvents(killed);
    expect(killedEvents, JSON.stringify(killedEvents)).toHaveLength(1);
    // On time: not before its time, and within a couple of seconds of it on a loaded machine.
    const late = killedEvents[0]!.createdAt.getTime() - killedUntil;
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(3_000);
    await expect.poll(() => statusOf(reloaded), { timeout: reloadedUntil - Date.now() + 5_000, interval: 200 }).toBe('ACTIVE');
    const reloadedEvents = await timerEvents(reloaded);
    expect(reloadedEvents, JSON.stringify(reloadedEvents)).toHaveLength(1);
    expect(reloadedEvents[0]!.createdAt.getTime()).toBeGreaterThanOrEqual(reloadedUntil);
  }, 90_000);
});
