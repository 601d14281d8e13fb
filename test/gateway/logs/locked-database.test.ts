// A SQLite database locked by another connection for longer
// than the busy timeout. The request-log writer waits on the lock in its
// worker thread, so the proxy keeps answering meanwhile; the batch that timed
// out is retried after the lock is gone, and every row and count is stored
// exactly once (checked through a fresh connection).
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createToken, createUpstream, send, type TestUpstream } from '../proxy/support.ts';

const KEY = 'sk-locked-0000000000000000000000001';

describe('a locked SQLite database', () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let token: string;
  let up: TestUpstream;
  let file: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    // A flush interval longer than the test: after the first flush below, only the test's own flushes write.
    t = await startTestGateway({ provider: 'sqlite', env: { KEYRELAY_LOG_FLUSH_MS: '60000' } });
    up = await createUpstream(t, mock, { name: 'locked' }, [{ value: KEY }]);
    token = (await createToken(t)).token;
    if (t.config.database.provider !== 'sqlite') throw new Error('sqlite only');
    file = t.config.database.file;
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  const proxied = async (requestId: string) => {
    const res = await send(t.url, { path: '/proxy/locked/x', headers: { ...bearer(token), 'x-request-id': requestId } });
    expect(res.status).toBe(200);
  };

  it('keeps answering while another connection holds BEGIN EXCLUSIVE past the busy timeout; afterwards every row is present once', async () => {
    const logs = t.gateway.logs;
    await logs.flush();
    const failuresBefore = logs.failures;
    const sent: string[] = [];
    const locker = new Database(file);
    locker.exec('BEGIN EXCLUSIVE');
    try {
      sent.push('lock-first');
      await proxied('lock-first');
      // This flush waits on the lock in the worker until the busy timeout fails it.
      let flushed = false;
      const flushing = logs.flush().then(() => (flushed = true));
      while (!flushed) {
        const id = `lock-${sent.length}`;
        sent.push(id);
        await proxied(id);
      }
      await flushing;
      expect(logs.failures).toBe(failuresBefore + 1);
      // With the writer on the event loop, the proxy would have answered nothing for the whole busy timeout.
      expect(sent.length).toBeGreaterThan(20);
    } finally {
      locker.exec('COMMIT');
      locker.close();
    }
    while (logs.depth > 0 || t.gateway.usage.pending) await logs.flush();
    // Later writes go through: the worker's connection is not wedged.
    sent.push('lock-after');
    await proxied('lock-after');
    await logs.flush();

    const fresh = new Database(file, { readonly: true });
    try {
      const rows = fresh.prepare(`SELECT "requestId", COUNT(*) AS n FROM "RequestLog" WHERE "requestId" LIKE 'lock-%' GROUP BY "requestId"`).all() as { requestId: string; n: number }[];
      expect(rows.map((r) => r.requestId).sort()).toEqual([...sent].sort());
      expect(rows.every((r) => r.n === 1)).toBe(true);
      const key = fresh.prepare('SELECT "requestCount", "quotaUsed" FROM "ApiKey" WHERE "id" = ?').get(up.keyIds[KEY]) as { requestCount: number; quotaUsed: number };
      expect([key.requestCount, key.quotaUsed]).toEqual([sent.length, sent.length]);
    } finally {
      fresh.close();
    }
  });
});
