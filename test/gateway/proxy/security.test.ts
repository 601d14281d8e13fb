// Access and secrets: client tokens,
// header hygiene seen by an echo upstream, paths that cannot leave the base
// path, and a canary key that must never show up anywhere.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestLogged } from '../../../src/events/bus.ts';
import { graphql } from '../../generated/index.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream, type RecordedRequest } from '../../support/mock-upstream.ts';
import { bearer, canaryKey, createToken, createUpstream, logRows, send, type TestUpstream } from './support.ts';

const ProxyAuditLogs = graphql(`
  query ProxyAuditLogs($first: Int) {
    requestLogs(first: $first) { edges { node { id requestId path status outcome error requestBody responseBody matchedRules key { id name fingerprint } } } }
  }
`);
const ProxyAuditKeys = graphql(`query ProxyAuditKeys { keys(first: 100) { edges { node { id name fingerprint status lastError } } } }`);

const CANARY = canaryKey();
const encodings = (s: string) => [s, encodeURIComponent(s), Buffer.from(s).toString('base64'), Buffer.from(s).toString('base64url'), s.slice(10)];

function echoed(res: { body: string }): RecordedRequest {
  return JSON.parse(res.body) as RecordedRequest;
}

describe('access, header hygiene and secrets', () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let up: TestUpstream;
  let other: TestUpstream;
  let token: string;
  let limited: string;
  const clientPayloads: string[] = [];

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway();
    up = await createUpstream(t, `${mock.url}/base`, { name: 'sec', bodyLogging: 'ALL', headers: { 'x-static': 'yes' } }, [{ value: CANARY }]);
    other = await createUpstream(t, mock, { name: 'other' }, [{ value: canaryKey() }]);
    token = (await createToken(t)).token;
    limited = (await createToken(t, [other.id])).token;
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  // Error responses are collected for the canary check (echo 200s carry the key by design).
  const call = async (...args: Parameters<typeof send>) => {
    const res = await send(...args);
    if (res.status >= 400) clientPayloads.push(res.body, JSON.stringify(res.headers));
    return res;
  };

  it('missing or bad token: 401; a token not allowed here: the same 404 as an unknown upstream; the upstream is never contacted', async () => {
    mock.reset();
    const none = await call(t.url, { path: '/proxy/sec/x' });
    const bad = await call(t.url, { path: '/proxy/sec/x', headers: bearer('kr_not-a-real-token') });
    const hidden = await call(t.url, { path: '/proxy/sec/x', headers: bearer(limited) });
    const missing = await call(t.url, { path: '/proxy/no-such-upstream/x', headers: bearer(limited) });
    expect([none.status, bad.status, hidden.status, missing.status]).toEqual([401, 401, 404, 404]);
    const errorOf = (res: { body: string }) => {
      const { request_id: _id, ...rest } = JSON.parse(res.body).error as Record<string, unknown>;
      return rest;
    };
    expect(errorOf(hidden)).toEqual({ message: 'no enabled upstream by that name', type: 'keyrelay_error', code: 'UNKNOWN_UPSTREAM' });
    expect(errorOf(hidden)).toEqual(errorOf(missing));
    expect(mock.hits).toBe(0);
    const allowed = await call(t.url, { path: '/proxy/other/x', headers: { 'x-api-key': limited } });
    expect(allowed.status).toBe(200);
  });

  it('without a valid token an unknown upstream answers 401 like a known one, so names cannot be probed', async () => {
    const unknownNone = await call(t.url, { path: '/proxy/no-such-upstream/x' });
    const unknownBad = await call(t.url, { path: '/proxy/no-such-upstream/x', headers: bearer('kr_not-a-real-token') });
    const knownNone = await call(t.url, { path: '/proxy/sec/x' });
    expect([unknownNone.status, unknownBad.status]).toEqual([401, 401]);
    expect(JSON.parse(unknownNone.body).error).toMatchObject({ code: 'UNAUTHENTICATED', type: 'keyrelay_error', message: JSON.parse(knownNone.body).error.message });
    expect(JSON.parse(unknownBad.body).error.code).toBe('UNAUTHENTICATED');
    // A valid token learns that the name is unknown.
    const unknownValid = await call(t.url, { path: '/proxy/no-such-upstream/x', headers: bearer(token) });
    expect(unknownValid.status).toBe(404);
    expect(JSON.parse(unknownValid.body).error.code).toBe('UNKNOWN_UPSTREAM');
  });

  it('key injection by named header and by query parameter; the client cannot supply either', async () => {
    const headerKey = canaryKey();
    const queryKey = canaryKey();
    await createUpstream(t, mock, { name: 'by-header', auth: { type: 'HEADER', name: 'x-goog-api-key' } }, [{ value: headerKey }]);
    await createUpstream(t, mock, { name: 'by-query', auth: { type: 'QUERY', name: 'key' } }, [{ value: queryKey }]);
    const viaHeader = echoed(await call(t.url, { path: '/proxy/by-header/x', headers: { 'x-api-key': token, 'x-goog-api-key': 'client-choice', 'x-mock': 'echo' } }));
    expect(viaHeader.headers['x-goog-api-key']).toBe(headerKey);
    expect(viaHeader.headers.authorization).toBeUndefined();
    const viaQuery = echoed(await call(t.url, { path: `/proxy/by-query/x?key=${token}&KEY=client-choice&a=1`, headers: { 'x-mock': 'echo' } }));
    expect(viaQuery.url).toBe(`/x?a=1&key=${encodeURIComponent(queryKey)}`);
    for (const form of encodings(headerKey).concat(encodings(queryKey))) expect(t.logLines.join('\n')).not.toContain(form);
  });

  it('an upstream that allows anonymous use serves requests without a token, and still strips whatever credential came along', async () => {
    await createUpstream(t, mock, { name: 'open', allowAnonymous: true }, [{ value: canaryKey() }]);
    const anonymous = await call(t.url, { path: '/proxy/open/x' });
    expect(anonymous.status).toBe(200);
    const foreign = await call(t.url, { path: '/proxy/open/x', headers: { 'x-mock': 'echo', 'x-api-key': 'someone-elses-key' } });
    expect(foreign.status).toBe(200);
    expect(JSON.stringify(echoed(foreign))).not.toContain('someone-elses-key');
    // Anyone can see an open upstream exists, so a token limited to other upstreams is told plainly.
    const scoped = await call(t.url, { path: '/proxy/open/x', headers: bearer(limited) });
    expect(scoped.status).toBe(403);
    expect(JSON.parse(scoped.body).error.code).toBe('FORBIDDEN');
  });

  it.each([
    ['authorization bearer', (tok: string) => ({ path: '/proxy/sec/x', headers: bearer(tok) })],
    ['x-api-key', (tok: string) => ({ path: '/proxy/sec/x', headers: { 'x-api-key': tok } })],
    ['x-goog-api-key', (tok: string) => ({ path: '/proxy/sec/x', headers: { 'x-goog-api-key': tok } })],
    ['?key=', (tok: string) => ({ path: `/proxy/sec/x?a=1&key=${encodeURIComponent(tok)}&b=2`, headers: {} })],
  ])('token as %s: accepted, stripped, and the pool key injected instead', async (_name, build) => {
    const opts = build(token);
    const res = await call(t.url, { ...opts, headers: { ...opts.headers, 'x-mock': 'echo' } });
    expect(res.status).toBe(200);
    const seen = echoed(res);
    expect(JSON.stringify(seen)).not.toContain(token);
    expect(seen.headers.authorization).toBe(`Bearer ${CANARY}`);
    expect(seen.headers['x-api-key']).toBeUndefined();
    expect(seen.headers['x-goog-api-key']).toBeUndefined();
    expect(seen.url).not.toContain('key=');
  });

  it('hop-by-hop, Connection-named and client-set forwarding headers never reach the upstream; Host is the upstream\'s', async () => {
    const res = await call(t.url, {
      path: '/proxy/sec/x',
      headers: {
        ...bearer(token),
        'x-mock': 'echo',
        connection: 'keep-alive, x-secret-hop',
        'x-secret-hop': 'dropped',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        upgrade: 'websocket',
        'x-forwarded-for': '6.6.6.6',
        host: 'evil.example',
        'x-static': 'from-client',
        'x-api-key': 'client-own-key',
      },
    });
    expect(res.status).toBe(200);
    const seen = echoed(res);
    for (const name of ['x-secret-hop', 'keep-alive', 'te', 'proxy-authorization', 'upgrade', 'x-api-key']) expect(seen.headers[name]).toBeUndefined();
    expect(seen.headers.host).toBe(new URL(mock.url).host);
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-static']).toBe('yes');
    expect(seen.headers.authorization).toBe(`Bearer ${CANARY}`);
    expect(res.headers['x-keyrelay-attempts']).toBe('1');
    expect(Number(res.headers['x-keyrelay-overhead-ms'])).toBeGreaterThanOrEqual(0);
  });

  it.each([
    '/proxy/sec/a/../../../etc/passwd',
    '/proxy/sec/a/%2e%2e/%2e%2e/x',
    '/proxy/sec/..%2f..%2fx',
    '/proxy/sec//evil.example/x',
    '/proxy/sec/http://evil.example/x',
    '/proxy/sec/a%00b',
    '/proxy/sec/a\\..\\b',
  ])('path %s stays under the base path on the configured host, or is refused', async (path) => {
    mock.reset();
    const res = await call(t.url, { path, headers: { ...bearer(token), 'x-mock': 'echo' } });
    if (res.status === 200) {
      const seen = echoed(res);
      expect(seen.url.startsWith('/base/')).toBe(true);
      expect(seen.url).not.toMatch(/\/\.\.?(\/|$)/);
      expect(seen.headers.host).toBe(new URL(mock.url).host);
    } else {
      expect([400, 404]).toContain(res.status);
      expect(mock.hits).toBe(0);
    }
  });

  it('a body over KEYRELAY_MAX_REQUEST_BODY_BYTES gets 413 before the upstream is hit; duplicate Content-Length is refused by the parser', async () => {
    const big = await startTestGateway({ env: { KEYRELAY_MAX_REQUEST_BODY_BYTES: '2048' }, dataDir: undefined });
    try {
      await createUpstream(big, mock, { name: 'big' }, [{ value: canaryKey() }]);
      const bigToken = (await createToken(big)).token;
      mock.reset();
      const res = await send(big.url, { method: 'POST', path: '/proxy/big/x', headers: bearer(bigToken), body: Buffer.alloc(4096, 'a') });
      expect(res.status).toBe(413);
      const chunked = await send(big.url, { method: 'POST', path: '/proxy/big/x', headers: { ...bearer(bigToken), 'transfer-encoding': 'chunked' }, body: Buffer.alloc(4096, 'a') });
      expect(chunked.status).toBe(413);
      expect(mock.hits).toBe(0);
    } finally {
      await big.close();
    }
    const raw = await new Promise<string>((resolve) => {
      const url = new URL(t.url);
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.end(`POST /proxy/sec/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`);
      });
      let out = '';
      socket.on('data', (c) => (out += c));
      socket.on('close', () => resolve(out));
      socket.on('error', () => resolve(out));
    });
    expect(raw.startsWith('HTTP/1.1 400')).toBe(true);
  });

  it('the canary key never appears in error responses, log rows, published log events, operational logs or GraphQL output, even when the upstream echoes it', async () => {
    // Rows are redacted in the log writer's worker; the events are published from the main thread's copy plus the worker's changes.
    const published: RequestLogged[] = [];
    const events = t.gateway.events.subscribe('requestLog:created');
    void (async () => {
      for await (const row of events) published.push(row);
    })();
    mock.byKey[CANARY] = 'status:401:{"error":{"message":"Incorrect API key provided: {key}"}}';
    const res = await call(t.url, { method: 'POST', path: '/proxy/sec/v1/chat?key=zzz', headers: { ...bearer(token), 'content-type': 'application/json', 'x-request-id': 'canary-echo' }, body: `{"model":"m","note":"${CANARY}"}` });
    delete mock.byKey[CANARY];
    // The client's token in the query string (the `key` parameter), and the pool key elsewhere in it.
    const viaQuery = await call(t.url, { path: `/proxy/sec/v1/models?key=${token}&other=${CANARY}`, headers: { 'x-request-id': 'canary-query' } });
    expect(viaQuery.status).toBe(200);
    expect(res.status).toBe(401);
    expect(res.body).toContain('Incorrect API key provided');
    // the request still reached the upstream with the key
    expect(mock.keysSeen.at(-1)).toBe(CANARY);

    const down = await createUpstream(t, 'http://127.0.0.1:9/base', { name: 'sec-down', maxRetries: 1, connectTimeoutMs: 500 }, [{ value: canaryKey() }]);
    const unreachable = await call(t.url, { path: '/proxy/sec-down/x', headers: bearer(token) });
    expect(unreachable.status).toBe(502);
    expect(unreachable.body).not.toContain('127.0.0.1');
    expect(down.id).toBeTruthy();

    const rows = await logRows(t);
    await events.return?.();
    for (const id of ['canary-echo', 'canary-query']) {
      const stored = rows.find((r) => r.requestId === id)!;
      const event = published.find((p) => p.requestId === id)!;
      expect(event.id).toBe(Number(stored.id));
      for (const field of ['path', 'error', 'model', 'requestBody', 'responseBody'] as const) expect([field, event[field]]).toEqual([field, stored[field]]);
    }
    expect(published.find((p) => p.requestId === 'canary-query')!.path).toContain('[REDACTED]');
    const graph = [await gql(t.url, ProxyAuditLogs, { first: 200 }), await gql(t.url, ProxyAuditKeys, {})].map((r) => r.text);
    const everything = [...clientPayloads, JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)), JSON.stringify(published), ...t.logLines, ...graph].join('\n');
    for (const form of encodings(CANARY)) expect(everything).not.toContain(form);
    expect(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))).not.toContain(token);
    expect(JSON.stringify(published)).not.toContain(token);
    expect(graph[0]).toContain('Incorrect API key provided');
    expect(clientPayloads.join('\n')).toContain('Incorrect API key provided: [REDACTED]');
  });
});
