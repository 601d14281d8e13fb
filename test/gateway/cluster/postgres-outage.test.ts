import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, PG_ADMIN_URL, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { REDIS_URL } from '../../support/redis.ts';
import { startTcpRelay, type TcpRelay } from '../../support/tcp-relay.ts';

const CREATE_UPSTREAM = `mutation ($input: CreateUpstreamInput!) { createUpstream(input: $input) { id name } }`;
const ADD_KEYS = `mutation ($upstreamId: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $upstreamId, keys: $keys) { id } }`;
const CREATE_RULE = `mutation ($input: CreateRuleInput!) { createRule(input: $input) { id } }`;
const LIMITED = 'sk-outage-limited-000002';
const DISABLE = `mutation ($id: ID!) { setKeyStatus(id: $id, status: DISABLED, reason: "during the outage") { id } }`;
const SECRET = 'cluster-test-master-secret-0123456789';
const PG_PORT = Number(new URL(PG_ADMIN_URL).port || 5432);

interface Outage {
  t: TestGateway;
  relay: TcpRelay;
  mock: MockUpstream;
  databaseUrl: string;
  keyId: string;
  upstreamId: string;
  /** Request ids sent so far, each answered 200. */
  sent: string[];
  send(n: number): Promise<void>;
  /** Stored request-log rows per request id, the key's stored request count, and the attempts both ways (read past the relay). */
  stored(): Promise<{ counts: Map<string, number>; requestCount: number; loggedAttempts: number; countedAttempts: number }>;
}

const open: Outage[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    o.relay.restore();
    await o.t.close();
    await o.relay.close();
    await o.mock.close();
  }
});

// keyrelay reaches PostgreSQL only through a TCP relay the test cuts and
// restores (the machine's service keeps running). Every request carries its
// own x-request-id, so the stored rows can be counted per request.
async function startBehindRelay(env: Record<string, string>): Promise<Outage> {
  const database = await createTestDatabase('postgres', mkdtempSync(join(tmpdir(), 'keyrelay-outage-')));
  const relay = await startTcpRelay({ host: '127.0.0.1', port: PG_PORT });
  const mock = await startMockUpstream();
  const t = await startTestGateway({ provider: 'postgres', database: { url: relay.url(database.url), drop: database.drop }, env });
  const upstreamId = (await gqlOk<{ createUpstream: { id: string } }, unknown>(t.url, CREATE_UPSTREAM, { input: { name: 'outage', baseUrl: mock.url, allowAnonymous: true } })).createUpstream.id;
  const keyId = (await gqlOk<{ addKeys: Array<{ id: string }> }, unknown>(t.url, ADD_KEYS, { upstreamId, keys: [{ value: 'sk-outage-key-0000001' }] })).addKeys[0]!.id;
  const sent: string[] = [];
  const o: Outage = {
    t, relay, mock, databaseUrl: database.url, keyId, upstreamId, sent,
    async send(n) {
      for (let i = 0; i < n; i++) {
        const id = `outage-${sent.length}`;
        sent.push(id);
        const res = await fetch(`${t.url}/proxy/outage/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': id }, body: '{"model":"m"}' });
        await res.arrayBuffer();
        expect(res.status, id).toBe(200);
      }
    },
    async stored() {
      const direct = new pg.Client({ connectionString: database.url });
      await direct.connect();
      try {
        const { rows } = await direct.query<{ requestId: string; n: string }>(`SELECT "requestId", COUNT(*) AS n FROM "RequestLog" GROUP BY 1`);
        const key = (await direct.query<{ requestCount: number }>('SELECT "requestCount" FROM "ApiKey" WHERE "id" = $1', [keyId])).rows[0]!;
        const logged = (await direct.query<{ n: string }>('SELECT SUM("attempts") AS n FROM "RequestLog"')).rows[0]!;
        const counted = (await direct.query<{ n: string }>('SELECT SUM("requestCount") AS n FROM "ApiKey"')).rows[0]!;
        return { counts: new Map(rows.map((r) => [r.requestId, Number(r.n)])), requestCount: key.requestCount, loggedAttempts: Number(logged.n), countedAttempts: Number(counted.n) };
      } finally {
        await direct.end();
      }
    },
  };
  open.push(o);
  return o;
}

/** After the database is back: the writers reconnect by themselves and store what they queued. */
async function recovered(o: Outage): Promise<void> {
  await expect.poll(async () => (await fetch(`${o.t.url}/readyz`)).status, { timeout: 15_000 }).toBe(200);
  // Prisma over the pg adapter, the raw driver and the key-state writer answer again ...
  await gqlOk(o.t.url, CREATE_UPSTREAM, { input: { name: 'after-the-outage', baseUrl: o.mock.url } });
  await gqlOk(o.t.url, DISABLE, { id: o.keyId });
  // ... and the log worker's connection has stored the queue.
  await expect.poll(() => o.t.gateway.logs.depth, { timeout: 15_000 }).toBe(0);
  await o.t.gateway.logs.flush();
}

describe.each([
  ['one instance', {}],
  ['cluster mode', { KEYRELAY_REDIS_URL: REDIS_URL, KEYRELAY_SECRET: SECRET }],
])('PostgreSQL unreachable (%s)', (_name, env: Record<string, string>) => {
  it('serves from memory, answers admin calls SERVICE_UNAVAILABLE, is not ready, and stores every log row and usage count once afterwards', async () => {
    const o = await startBehindRelay(env);
    const { t, relay } = o;
    // A second key, and a rule that takes a key out on a 429: it will fire during the outage.
    await gqlOk(t.url, ADD_KEYS, { upstreamId: o.upstreamId, keys: [{ value: LIMITED }] });
    await gqlOk(t.url, CREATE_RULE, { input: { upstreamId: o.upstreamId, name: 'out on 429', condition: { status: { equals: 429 } }, actions: ['DISABLE_KEY'], disableForSeconds: 600 } });
    await o.send(10);

    // A batch whose COMMIT reaches the database but whose answer is lost: stored once, not retried into a duplicate.
    const lost = relay.loseAnswerTo('COMMIT');
    let happened = false;
    void lost.then(() => (happened = true));
    while (!happened) await o.send(1);

    relay.cut();
    const linesBefore = t.logLines.length;
    const sentBefore = o.sent.length;
    const cutAt = Date.now();
    o.mock.byKey[LIMITED] = 'status:429';
    while (Date.now() - cutAt < 3000) await o.send(5);
    // The rule took the key out at once, in memory: no request after the first 429 met it.
    expect(o.mock.hitsByKey[LIMITED]).toBeGreaterThan(0);
    const limitedHits = o.mock.hitsByKey[LIMITED];
    await o.send(5);
    expect(o.mock.hitsByKey[LIMITED]).toBe(limitedHits);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(503);
    expect((await ready.json()).checks.database).toBe('unreachable');
    const refused = await gql(t.url, DISABLE, { id: o.keyId });
    expect(refused.errors?.[0]?.extensions?.code, refused.text).toBe('SERVICE_UNAVAILABLE');
    const viaPrisma = await gql(t.url, CREATE_UPSTREAM, { input: { name: 'during', baseUrl: o.mock.url } });
    expect(viaPrisma.errors?.[0]?.extensions?.code, viaPrisma.text).toBe('SERVICE_UNAVAILABLE');
    expect(t.gateway.logs.depth).toBeGreaterThan(0);
    // Logged per outage (and per refused admin call), not per proxied request.
    const outageLines = t.logLines.slice(linesBefore);
    expect(o.sent.length - sentBefore).toBeGreaterThan(20);
    expect(outageLines.length, outageLines.join('\n')).toBeLessThanOrEqual(6);

    relay.restore();
    await o.send(10);
    await recovered(o);

    const { counts, loggedAttempts, countedAttempts } = await o.stored();
    const missing = o.sent.filter((id) => !counts.has(id));
    const twice = [...counts].filter(([, n]) => n !== 1);
    expect(missing, 'rows missing').toEqual([]);
    expect(JSON.stringify(twice), 'rows stored more than once').toBe('[]');
    expect(counts.size).toBe(o.sent.length);
    expect(countedAttempts, 'usage counted once per attempt').toBe(loggedAttempts);
    expect(loggedAttempts).toBeGreaterThan(o.sent.length);
    // The rule's disable, made while the database was away, was stored once it came back, with one KeyEvent.
    const direct = new pg.Client({ connectionString: o.databaseUrl });
    await direct.connect();
    try {
      const limited = (await direct.query<{ id: string; status: string }>('SELECT "id", "status" FROM "ApiKey" WHERE "id" <> $1', [o.keyId])).rows[0]!;
      expect(limited.status).toBe('DISABLED');
      const events = await direct.query(`SELECT 1 FROM "KeyEvent" WHERE "keyId" = $1 AND "actor" = 'RULE'`, [limited.id]);
      expect(events.rowCount).toBe(1);
    } finally {
      await direct.end();
    }
    expect(t.gateway.logs.dropped).toBe(0);
  }, 90_000);
});

describe('PostgreSQL unreachable longer than the log queue holds', () => {
  it('drops the oldest rows (counted in /metrics, warned once), stores the rest once, and keeps every usage count', async () => {
    const o = await startBehindRelay({ KEYRELAY_LOG_QUEUE_MAX: '100' });
    const { t, relay } = o;
    await o.send(5);
    await expect.poll(() => t.gateway.logs.depth, { timeout: 10_000 }).toBe(0);
    relay.cut();
    const linesBefore = t.logLines.length;
    const firstCut = o.sent.length;
    await o.send(250);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const dropped = Number(/^keyrelay_log_rows_dropped (\d+)/m.exec(metrics)?.[1]);
    expect(dropped).toBeGreaterThanOrEqual(150);
    expect(dropped).toBe(t.gateway.logs.dropped);
    expect(t.logLines.slice(linesBefore).filter((l) => l.includes('request log queue full'))).toHaveLength(1);

    relay.restore();
    await recovered(o);
    const { counts, requestCount } = await o.stored();
    expect(JSON.stringify([...counts].filter(([, n]) => n !== 1))).toBe('[]');
    // The oldest rows of the outage went; everything before it and the newest are stored.
    const lostIds = o.sent.filter((id) => !counts.has(id));
    expect(lostIds).toHaveLength(dropped);
    expect(lostIds).toEqual(o.sent.slice(firstCut, firstCut + dropped));
    expect(requestCount, 'usage is never dropped').toBe(o.sent.length);
  }, 90_000);
});
