// Quotas exact under concurrency, and the batched request-log / usage writer,
// on both databases.
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import type { SqlDriver } from '../../../src/db/sql-driver.ts';
import type { RequestLogged } from '../../../src/events/bus.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createToken, createUpstream, logRows, send } from './support.ts';

const ProxyDeleteKey = graphql(`mutation ProxyDeleteKey($id: ID!) { deleteKey(id: $id) }`);
const ProxyResetQuota = graphql(`mutation ProxyResetQuota($keyId: ID) { resetQuota(keyId: $keyId) { id used } }`);

describe.each(PROVIDERS)('quota and request logs on %s', (provider) => {
  let t: TestGateway;
  let mock: MockUpstream;
  let token: { token: string; id: string };

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway({ provider });
    token = await createToken(t);
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  it('200 concurrent requests against one key with quota 100: exactly 100 reach the upstream, used is 100, the key is EXHAUSTED with a KeyEvent', async () => {
    const KEY = 'sk-quota-0000000000000000000000001';
    const up = await createUpstream(t, mock, { name: 'quota' }, [{ value: KEY, quota: 100 }]);
    const keyId = up.keyIds[KEY];
    mock.reset();
    const results = await Promise.all(Array.from({ length: 200 }, () => send(t.url, { path: '/proxy/quota/x', headers: bearer(token.token) })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 503)).toHaveLength(100);
    expect(mock.hitsByKey[KEY]).toBe(100);
    expect(t.gateway.state.keys.get(keyId)!.used).toBe(100);
    expect(t.gateway.state.keys.get(keyId)!.status).toBe('EXHAUSTED');

    await t.gateway.lifecycle.flushed();
    await t.gateway.logs.flush();
    const [row] = await t.gateway.db.sql.query<{ quotaUsed: number; requestCount: number; status: string; lastUsedAt: unknown }>(
      'SELECT "quotaUsed", "requestCount", "status", "lastUsedAt" FROM "ApiKey" WHERE "id" = ?',
      [keyId],
    );
    expect(Number(row.quotaUsed)).toBe(100);
    expect(Number(row.requestCount)).toBe(100);
    expect(row.status).toBe('EXHAUSTED');
    expect(row.lastUsedAt).not.toBeNull();
    const events = await t.gateway.db.sql.query<{ toStatus: string; actor: string }>('SELECT "toStatus", "actor" FROM "KeyEvent" WHERE "keyId" = ?', [keyId]);
    expect(events).toEqual([{ toStatus: 'EXHAUSTED', actor: 'QUOTA' }]);
    const rows = (await logRows(t)).filter((r) => r.upstreamId === up.id);
    expect(rows).toHaveLength(200);
    expect(rows.filter((r) => r.outcome === 'no_key')).toHaveLength(100);
    const [tokenRow] = await t.gateway.db.sql.query<{ lastUsedAt: unknown }>('SELECT "lastUsedAt" FROM "AccessToken" WHERE "id" = ?', [token.id]);
    expect(tokenRow.lastUsedAt).not.toBeNull();
  });

  it('publishes requestLog:created with the stored id, exactly one row per request, 401 and 404 included', async () => {
    const KEY = 'sk-logs-00000000000000000000000001';
    await createUpstream(t, mock, { name: 'logs', bodyLogging: 'ERRORS' }, [{ value: KEY }]);
    const ids = [`ok-${provider}`, `401-${provider}`, `404-${provider}`, `err-${provider}`];
    const published: RequestLogged[] = [];
    const sub = t.gateway.events.subscribe('requestLog:created');
    const collecting = (async () => {
      for await (const row of sub) {
        if (ids.includes(row.requestId)) published.push(row);
        if (published.length === ids.length) break;
      }
    })();
    const ok = await send(t.url, { path: '/proxy/logs/a?b=1', headers: { ...bearer(token.token), 'x-request-id': `ok-${provider}` } });
    const unauthorized = await send(t.url, { path: '/proxy/logs/a', headers: { 'x-request-id': `401-${provider}` } });
    const missing = await send(t.url, { path: '/proxy/nope/a', headers: { ...bearer(token.token), 'x-request-id': `404-${provider}` } });
    const failed = await send(t.url, { path: '/proxy/logs/a', headers: { ...bearer(token.token), 'x-mock': 'status:404:{"error":"nope"}', 'x-request-id': `err-${provider}` } });
    expect([ok.status, unauthorized.status, missing.status, failed.status]).toEqual([200, 401, 404, 404]);
    await t.gateway.logs.flush();
    await collecting;
    const mine = published;
    expect(mine.map((p) => p.requestId)).toEqual(ids);
    const stored = await logRows(t);
    for (const p of mine) {
      const matching = stored.filter((r) => r.requestId === p.requestId);
      expect(matching).toHaveLength(1);
      expect(Number(matching[0].id)).toBe(p.id);
      expect(Number(matching[0].status)).toBe(p.status);
    }
    expect(mine.map((p) => p.outcome)).toEqual(['ok', 'rejected', 'rejected', 'upstream_error']);
    expect(mine[0]).toMatchObject({ path: '/a?b=1', requestBody: null, responseBody: null });
    expect(mine[1].upstreamId).not.toBeNull();
    expect(mine[2].upstreamId).toBeNull();
    // ERRORS mode: the failed request's bodies are kept.
    expect(mine[3].responseBody).toBe('{"error":"nope"}');
  });

  it('a large batch: every published id is its stored row\'s id', async () => {
    const KEY = 'sk-bulk-00000000000000000000000001';
    await createUpstream(t, mock, { name: 'bulk' }, [{ value: KEY }]);
    await t.gateway.logs.flush();
    const ids = Array.from({ length: 150 }, (_, i) => `bulk-${provider}-${i}`);
    const published = new Map<string, number>();
    const sub = t.gateway.events.subscribe('requestLog:created');
    const collecting = (async () => {
      for await (const row of sub) {
        if (row.requestId.startsWith(`bulk-${provider}-`)) published.set(row.requestId, row.id);
        if (published.size === ids.length) break;
      }
    })();
    await Promise.all(ids.map((id) => send(t.url, { path: '/proxy/bulk/x', headers: { ...bearer(token.token), 'x-request-id': id } })));
    await t.gateway.logs.flush();
    await collecting;
    const stored = (await logRows(t)).filter((r) => String(r.requestId).startsWith(`bulk-${provider}-`));
    expect(stored).toHaveLength(ids.length);
    for (const row of stored) expect(published.get(String(row.requestId))).toBe(Number(row.id));
  });

  it('a key deleted before its row is stored: the row keeps its place with keyId null', async () => {
    const KEY = 'sk-gone-00000000000000000000000001';
    const up = await createUpstream(t, mock, { name: 'gone' }, [{ value: KEY }]);
    const res = await send(t.url, { path: '/proxy/gone/x', headers: { ...bearer(token.token), 'x-request-id': `gone-${provider}` } });
    expect(res.status).toBe(200);
    await gqlOk(t.url, ProxyDeleteKey, { id: up.keyIds[KEY] });
    const [row] = await logRows(t, `gone-${provider}`);
    expect(row.keyId).toBeNull();
    expect(row.upstreamId).toBe(up.id);
  });

  it('a failed batch is retried: rows and usage are stored once, not lost and not doubled', async () => {
    const KEY = 'sk-retry-0000000000000000000000001';
    const up = await createUpstream(t, mock, { name: 'batch' }, [{ value: KEY }]);
    const sql = t.gateway.db.sql;
    await t.gateway.logs.flush();
    const failuresBefore = t.gateway.logs.failures;
    // A real database error inside the writer's transaction: a trigger that refuses every request-log row until dropped.
    await failLogInserts(sql, true);
    try {
      await Promise.all(Array.from({ length: 40 }, (_, i) => send(t.url, { path: '/proxy/batch/x', headers: { ...bearer(token.token), 'x-request-id': `batch-${provider}-${i}` } })));
      while (t.gateway.logs.failures === failuresBefore) await t.gateway.logs.flush();
    } finally {
      await failLogInserts(sql, false);
    }
    await t.gateway.logs.flush();
    expect(t.gateway.logs.depth).toBe(0);
    const rows = (await logRows(t)).filter((r) => String(r.requestId).startsWith(`batch-${provider}-`));
    expect(rows).toHaveLength(40);
    expect(new Set(rows.map((r) => r.requestId)).size).toBe(40);
    const [key] = await sql.query<{ quotaUsed: number; requestCount: number }>('SELECT "quotaUsed", "requestCount" FROM "ApiKey" WHERE "id" = ?', [up.keyIds[KEY]]);
    expect([Number(key.quotaUsed), Number(key.requestCount)]).toEqual([40, 40]);
  });

  it('a quota reset while a usage batch is on its way to the database: the stale charges do not land on top of the reset', async () => {
    const KEY = 'sk-reset-0000000000000000000000001';
    const up = await createUpstream(t, mock, { name: 'reset-race' }, [{ value: KEY, quota: 1000 }]);
    const keyId = up.keyIds[KEY];
    const logs = t.gateway.logs;
    await logs.flush();
    const usedBefore = await storedQuota(t, keyId);
    const locker = await holdWriterBack(t, token.id);
    let flushed: Promise<void>;
    try {
      for (let i = 0; i < 3; i++) await send(t.url, { path: '/proxy/reset-race/x', headers: bearer(token.token) });
      // The flush hands rows and the 3 charges to the worker, which then waits behind the other connection.
      flushed = logs.flush();
      // Meanwhile the quota is reset (and stored as 0) before the worker's transaction gets to the key.
      await locker.reset(keyId);
    } finally {
      await locker.release();
    }
    await flushed;
    await logs.flush();
    expect(usedBefore).toBe(0);
    expect(await storedQuota(t, keyId)).toBe(0);
    const [key] = await t.gateway.db.sql.query<{ requestCount: number }>('SELECT "requestCount" FROM "ApiKey" WHERE "id" = ?', [keyId]);
    expect(Number(key.requestCount)).toBe(3);
  });
});

/** Makes every RequestLog insert fail (on), or stop failing (off), on either provider. */
async function failLogInserts(sql: SqlDriver, on: boolean): Promise<void> {
  if (sql.provider === 'sqlite') {
    if (on) await sql.execute(`CREATE TRIGGER "test_fail_log" BEFORE INSERT ON "RequestLog" BEGIN SELECT RAISE(ABORT, 'simulated database failure'); END`);
    else await sql.execute('DROP TRIGGER IF EXISTS "test_fail_log"');
    return;
  }
  if (on) {
    await sql.execute(`CREATE OR REPLACE FUNCTION test_fail_log() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'simulated database failure'; END $$ LANGUAGE plpgsql`);
    await sql.execute('CREATE TRIGGER "test_fail_log" BEFORE INSERT ON "RequestLog" FOR EACH ROW EXECUTE FUNCTION test_fail_log()');
  } else {
    await sql.execute('DROP TRIGGER IF EXISTS "test_fail_log" ON "RequestLog"');
  }
}

async function storedQuota(t: TestGateway, keyId: string): Promise<number> {
  const [row] = await t.gateway.db.sql.query<{ quotaUsed: number }>('SELECT "quotaUsed" FROM "ApiKey" WHERE "id" = ?', [keyId]);
  return Number(row.quotaUsed);
}

/**
 * Another connection that makes the log writer's next transaction wait, and
 * a quota reset that gets in first. SQLite: the connection holds the database
 * write lock and performs the reset's two halves itself (the admin's own
 * connection would wait like the worker): the stored count set to 0, the
 * pending charges discarded. PostgreSQL: it locks the access token's row
 * (the worker's inserts reference it) and the real resetQuota mutation runs.
 */
async function holdWriterBack(t: TestGateway, tokenId: string): Promise<{ reset(keyId: string): Promise<void>; release(): Promise<void> }> {
  const target = t.config.database;
  if (target.provider === 'sqlite') {
    const db = new Database(target.file);
    db.exec('BEGIN EXCLUSIVE');
    return {
      async reset(keyId) {
        t.gateway.usage.discardQuota(keyId);
        db.prepare('UPDATE "ApiKey" SET "quotaUsed" = 0 WHERE "id" = ?').run(keyId);
      },
      async release() {
        if (db.inTransaction) db.exec('COMMIT');
        db.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT "id" FROM "AccessToken" WHERE "id" = $1 FOR UPDATE', [tokenId]);
  return {
    async reset(keyId) {
      await gqlOk(t.url, ProxyResetQuota, { keyId });
    },
    async release() {
      await client.query('COMMIT');
      await client.end();
    },
  };
}
