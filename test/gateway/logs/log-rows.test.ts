// The request log under bad rows (text a database cannot hold): a NUL in a logged body is
// stored escaped on both databases, and a row the database refuses never
// blocks the rows batched with it. Also the writer's view of itself: its depth
// counts rows in flight, and a flush is capped by size as well as rows.
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogEntry } from '../../../src/logs/log-entry.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { bearer, createToken, createUpstream, logRows, send, type TestUpstream } from '../proxy/support.ts';
import { startHostileUpstream, type HostileUpstream } from '../proxy/hostile-upstream.ts';

const KEY = 'sk-logrows-00000000000000000000000001';

function entry(requestId: string, over: Partial<LogEntry> = {}): LogEntry {
  return {
    createdAt: Date.now(), requestId, upstreamId: null, keyId: null, accessTokenId: null, method: 'POST', path: '/x', status: 200, outcome: 'ok',
    latencyMs: 1, overheadMs: 0.1, attempts: 1, bytesIn: 0, bytesOut: 0, clientIp: '127.0.0.1', error: null, model: null, stream: false, usage: null,
    matchedRules: null, requestBody: null, responseBody: null, bodyTruncated: false, secrets: [], ...over,
  };
}

describe.each(PROVIDERS)('request-log rows (%s)', (provider) => {
  let t: TestGateway;
  let upstream: HostileUpstream;
  let up: TestUpstream;
  let token: string;

  beforeAll(async () => {
    // 400 for a body with a NUL (logged: bodyLogging ERRORS by default), 200 otherwise.
    upstream = await startHostileUpstream((_req, body) =>
      body.includes(0) ? { status: 400, headers: { 'content-type': 'text/plain' }, body: Buffer.concat([Buffer.from('bad byte: '), body]) } : { status: 200, body: '{"ok":true}' },
    );
    t = await startTestGateway({ provider });
    up = await createUpstream(t, upstream.url, { name: 'nul' }, [{ value: KEY }]);
    token = (await createToken(t)).token;
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  it('a NUL-byte request is stored escaped, and the next 1,000 requests are all logged and counted within a second of their end', async () => {
    const nul = await send(t.url, { method: 'POST', path: '/proxy/nul/x', headers: { ...bearer(token), 'x-request-id': 'nul-request', 'content-type': 'text/plain' }, body: Buffer.from('why\u0000not') });
    expect(nul.status).toBe(400);
    let stored = 0;
    const target = 1001;
    let resolveAll!: () => void;
    const allStored = new Promise<void>((r) => (resolveAll = r));
    const sub = (async () => {
      for await (const _ of t.gateway.events.subscribe('requestLog:created')) if (++stored >= target) return resolveAll();
    })();
    const ids: string[] = [];
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(Array.from({ length: 50 }, async (_, i) => {
        const id = `after-${batch}-${i}`;
        ids.push(id);
        const res = await send(t.url, { method: 'POST', path: '/proxy/nul/x', headers: { ...bearer(token), 'x-request-id': id }, body: '{}' });
        expect(res.status).toBe(200);
      }));
    }
    const ended = Date.now();
    await Promise.race([allStored, new Promise((r) => setTimeout(r, 5000))]);
    const lag = Date.now() - ended;
    void sub;
    const rows = await logRows(t);
    expect(rows.length).toBe(target);
    const nulRow = rows.find((r) => r.requestId === 'nul-request')!;
    expect(nulRow.requestBody).toBe('why\\u0000not');
    expect(nulRow.responseBody).toBe('bad byte: why\\u0000not');
    const [key] = await t.gateway.db.sql.query<{ requestCount: number | bigint }>('SELECT "requestCount" FROM "ApiKey" WHERE "id" = ?', [up.keyIds[KEY]]);
    expect(Number(key.requestCount)).toBe(target);
    expect(lag, `stored ${stored} of ${target} rows ${lag} ms after the last response`).toBeLessThan(1000);
  });

  it('a row the database refuses is left out, counted and named; the rows batched with it are stored', async () => {
    const logs = t.gateway.logs;
    await logs.flush();
    const before = logs.rejected;
    const lines = t.logLines.length;
    // NaN latency is a value neither database takes (NOT NULL on SQLite, not an integer on PostgreSQL).
    for (let i = 0; i < 40; i++) logs.enqueue(entry(`batch-${i}`, i === 17 ? { latencyMs: NaN } : {}));
    await logs.flush();
    const rows = (await logRows(t)).filter((r) => r.requestId.startsWith('batch-'));
    expect(rows.map((r) => r.requestId).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `batch-${i}`).filter((id) => id !== 'batch-17').sort());
    expect(logs.rejected).toBe(before + 1);
    expect(logs.depth).toBe(0);
    expect(t.logLines.slice(lines).join('\n')).toContain('"requestId":"batch-17"');
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/keyrelay_log_rows_rejected \d+/);
  });
});

describe('the log writer’s depth and batch size', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ provider: 'sqlite', env: { KEYRELAY_LOG_FLUSH_MS: '60000' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('depth counts the rows the worker holds, and a flush of big rows is split by size', async () => {
    const logs = t.gateway.logs;
    await logs.flush();
    const posted: number[] = [];
    const writer = logs as unknown as { post(m: { type: string; chunks?: { text: string }[] }): void };
    const post = writer.post.bind(logs);
    writer.post = (m) => {
      if (m.type === 'write') posted.push(m.chunks!.reduce((n, c) => n + c.text.length, 0));
      post(m);
    };
    if (t.config.database.provider !== 'sqlite') throw new Error('sqlite only');
    const locker = new Database(t.config.database.file);
    locker.exec('BEGIN EXCLUSIVE');
    const body = 'x'.repeat(60 * 1024);
    try {
      for (let i = 0; i < 600; i++) logs.enqueue(entry(`big-${i}`, { status: 400, requestBody: body }));
      const flushing = logs.flush();
      // The worker now holds a batch, waiting on the lock: it is still not stored.
      expect(logs.depth).toBe(600);
      await flushing;
    } finally {
      locker.exec('COMMIT');
      locker.close();
    }
    while (logs.depth > 0) await logs.flush();
    writer.post = post;
    expect(posted.length).toBeGreaterThan(1);
    for (const chars of posted) expect(chars).toBeLessThanOrEqual(17 * 1024 * 1024);
    expect((await logRows(t)).filter((r) => r.requestId.startsWith('big-')).length).toBe(600);
  }, 60_000);
});
