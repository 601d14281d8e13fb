// Retries and failures: another key on 401/429,
// the last upstream answer once retries are spent, 502 after retries when the upstream is down (the key not penalized), 504 on
// a headers stall, client errors never retried.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createToken, createUpstream, logRows, send } from './support.ts';

const ProxyCreateRule = graphql(`mutation ProxyCreateRule($input: CreateRuleInput!) { createRule(input: $input) { id } }`);

const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `sk-${prefix}-${String(i).padStart(24, '0')}`);

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('retries and failures', () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let token: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway();
    token = (await createToken(t)).token;
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  it.each([401, 429])('one key answers %i: the client gets 200 from the next key, logged with 2 attempts', async (status) => {
    const [bad, good] = keys(`r${status}`, 2);
    const up = await createUpstream(t, mock, { name: `r${status}`, strategy: 'ROUND_ROBIN' }, [{ value: bad }, { value: good }]);
    mock.byKey[bad] = `status:${status}`;
    mock.reset();
    // Round robin alternates the first key: of two requests, one starts on the bad key.
    let res = await send(t.url, { path: `/proxy/r${status}/x`, headers: bearer(token) });
    if (mock.keysSeen[0] !== bad) {
      mock.reset();
      res = await send(t.url, { path: `/proxy/r${status}/x`, headers: bearer(token) });
    }
    expect(res.status).toBe(200);
    expect(res.headers['x-keyrelay-attempts']).toBe('2');
    expect(mock.keysSeen).toEqual([bad, good]);
    const [row] = await logRows(t, String(res.headers['x-request-id']));
    expect(Number(row.attempts)).toBe(2);
    expect(row.keyId).toBe(up.keyIds[good]);
    expect(row.outcome).toBe('ok');
    await t.gateway.logs.flush();
    const [stored] = await t.gateway.db.sql.query<{ failureCount: number; requestCount: number }>('SELECT "failureCount", "requestCount" FROM "ApiKey" WHERE "id" = ?', [up.keyIds[bad]]);
    expect(Number(stored.failureCount)).toBe(1);
    expect(Number(stored.requestCount)).toBe(1);
  });

  it('upstream down: 502 JSON after the retries; the key is not penalized and nothing is charged', async () => {
    const port = await closedPort();
    const [key] = keys('down', 1);
    const up = await createUpstream(t, `http://127.0.0.1:${port}`, { name: 'down', maxRetries: 2 }, [{ value: key }]);
    const res = await send(t.url, { path: '/proxy/down/x', headers: bearer(token) });
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toContain('application/json');
    const body = JSON.parse(res.body);
    expect(body.error.code).toBe('UPSTREAM_UNREACHABLE');
    expect(res.body).not.toContain(String(port));
    expect(res.headers['x-keyrelay-attempts']).toBe('3');
    const [row] = await logRows(t, String(res.headers['x-request-id']));
    expect(row).toMatchObject({ outcome: 'upstream_unreachable' });
    expect(Number(row.attempts)).toBe(3);
    const key0 = t.gateway.state.keys.get(up.keyIds[key])!;
    expect(key0.status).toBe('ACTIVE');
    expect(key0.used).toBe(0);
    const [stored] = await t.gateway.db.sql.query<{ failureCount: number; quotaUsed: number; requestCount: number }>('SELECT "failureCount", "quotaUsed", "requestCount" FROM "ApiKey" WHERE "id" = ?', [up.keyIds[key]]);
    expect([Number(stored.failureCount), Number(stored.quotaUsed), Number(stored.requestCount)]).toEqual([0, 0, 0]);
  });

  it('headers stall: 504 after the headers timeout, a POST not retried, the upstream socket closed', async () => {
    const [a, b] = keys('stall', 2);
    await createUpstream(t, mock, { name: 'stall', timeoutMs: 300 }, [{ value: a }, { value: b }]);
    mock.reset();
    const closed = mock.waitForClose();
    const started = Date.now();
    const res = await send(t.url, { method: 'POST', path: '/proxy/stall/x', headers: { ...bearer(token), 'x-mock': 'stall-headers', 'content-type': 'application/json' }, body: '{}' });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body).error.code).toBe('UPSTREAM_TIMEOUT');
    expect(elapsed).toBeGreaterThanOrEqual(290); // it waited for the headers timeout (one attempt: mock.hits below)
    expect(mock.hits).toBe(1);
    await closed;
    const [row] = await logRows(t, String(res.headers['x-request-id']));
    expect(row.outcome).toBe('timeout');
  });

  it('headers stall on a GET is retried on the other key (idempotent), then 504', async () => {
    mock.reset();
    const res = await send(t.url, { path: '/proxy/stall/x', headers: { ...bearer(token), 'x-mock': 'stall-headers' } });
    expect(res.status).toBe(504);
    expect(mock.hits).toBe(2);
    expect(new Set(mock.keysSeen).size).toBe(2);
  });

  it('client errors (400, 404, 413, 422) are passed on, never retried, and never count against the key', async () => {
    const [a, b] = keys('client', 2);
    const up = await createUpstream(t, mock, { name: 'client', retryOnStatus: [400, 404, 413, 422, 429, 500] }, [{ value: a }, { value: b }]);
    for (const status of [400, 404, 413, 422]) {
      mock.reset();
      const res = await send(t.url, { path: '/proxy/client/x', headers: { ...bearer(token), 'x-mock': `status:${status}` } });
      expect(res.status).toBe(status);
      expect(mock.hits).toBe(1);
      expect(JSON.parse(res.body).error.message).toBe(`mock status ${status}`);
    }
    await t.gateway.logs.flush();
    const rows = await t.gateway.db.sql.query<{ failureCount: number; status: string }>('SELECT "failureCount", "status" FROM "ApiKey" WHERE "upstreamId" = ?', [up.id]);
    expect(rows.map((r) => [Number(r.failureCount), r.status])).toEqual([[0, 'ACTIVE'], [0, 'ACTIVE']]);
  });

  it('every key answers 500: the last 500 passed on after trying each once', async () => {
    const values = keys('all500', 3);
    await createUpstream(t, mock, { name: 'all500', maxRetries: 5 }, values.map((value) => ({ value })));
    mock.reset();
    const res = await send(t.url, { path: '/proxy/all500/x', headers: { ...bearer(token), 'x-mock': 'status:500' } });
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body).error.message).toBe('mock status 500');
    expect(mock.hits).toBe(3);
    expect(new Set(mock.keysSeen).size).toBe(3);
  });

  it('garbage from the upstream: 502, no crash', async () => {
    const res = await send(t.url, { path: '/proxy/all500/x', headers: { ...bearer(token), 'x-mock': 'garbage' } });
    expect(res.status).toBe(502);
  });

  it('an upstream 200 with invalid JSON is passed through untouched', async () => {
    const res = await send(t.url, { path: '/proxy/all500/x', headers: { ...bearer(token), 'x-mock': 'bad-json' } });
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"ok": tru');
  });

  it('a rule that takes the key out on a buffered error body makes the request retry on another key (rule ids on the log row)', async () => {
    const [limited, fine] = keys('rulebody', 2);
    const up = await createUpstream(t, mock, { name: 'rulebody', strategy: 'ROUND_ROBIN' }, [{ value: limited }, { value: fine }]);
    const { createRule } = await gqlOk(t.url, ProxyCreateRule, {
      input: {
        upstreamId: up.id,
        name: 'quota text on 400',
        condition: { all: [{ status: { equals: 400 } }, { body: { contains: 'quota exceeded' } }] },
        actions: ['DISABLE_KEY'],
        disableForSeconds: 60,
      },
    });
    mock.byKey[limited] = 'status:400:{"error":"quota exceeded"}';
    let res = await send(t.url, { path: '/proxy/rulebody/x', headers: bearer(token) });
    if (res.headers['x-keyrelay-attempts'] === '1') res = await send(t.url, { path: '/proxy/rulebody/x', headers: bearer(token) });
    expect(res.status).toBe(200);
    expect(res.headers['x-keyrelay-attempts']).toBe('2');
    expect(t.gateway.state.keys.get(up.keyIds[limited])!.status).toBe('DISABLED');
    const [row] = await logRows(t, String(res.headers['x-request-id']));
    expect(row.matchedRules).toBe(createRule.id);
    expect(row.keyId).toBe(up.keyIds[fine]);
  });

  it('a rule that takes the key out on a 2xx status drops that response before a byte is sent and retries', async () => {
    const [odd, fine] = keys('rulehead', 2);
    const up = await createUpstream(t, mock, { name: 'rulehead', strategy: 'ROUND_ROBIN' }, [{ value: odd }, { value: fine }]);
    await gqlOk(t.url, ProxyCreateRule, {
      input: { upstreamId: up.id, name: 'no 203s', condition: { status: { equals: 203 } }, actions: ['DISABLE_KEY'], disableForSeconds: 60 },
    });
    mock.byKey[odd] = 'status:203:{"odd":true}';
    mock.reset();
    let res = await send(t.url, { path: '/proxy/rulehead/x', headers: bearer(token) });
    if (res.headers['x-keyrelay-attempts'] === '1') res = await send(t.url, { path: '/proxy/rulehead/x', headers: bearer(token) });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).ok).toBe(true);
    expect(res.headers['x-keyrelay-attempts']).toBe('2');
    expect(t.gateway.state.keys.get(up.keyIds[odd])!.status).toBe('DISABLED');
  });
});
