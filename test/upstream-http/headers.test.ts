import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildUpstreamHeaders,
  filterResponseHeaders,
  isSafeHeaderName,
  isSafeHeaderValue,
  readClientCredential,
  UnsafeHeaderError,
  type UpstreamHeaderOptions,
} from '../../src/upstream-http/headers.ts';

const CANARY = 'sk-canary-0f1e2d3c';

function options(overrides: Partial<UpstreamHeaderOptions> = {}): UpstreamHeaderOptions {
  return {
    clientIp: '203.0.113.7',
    proto: 'https',
    stripNames: new Set(['authorization', 'x-api-key', 'x-goog-api-key']),
    staticHeaders: {},
    auth: { type: 'BEARER', name: null, secret: CANARY },
    contentLength: null,
    ...overrides,
  };
}

/** Flat header array -> lower-case name -> values, to assert on. */
function toMap(flat: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i].toLowerCase();
    map.set(name, [...(map.get(name) ?? []), flat[i + 1]]);
  }
  return map;
}

const hostile = [
  'Host', 'evil.example',
  'Connection', 'keep-alive, X-Secret-Hop, Close',
  'X-Secret-Hop', '1',
  'Keep-Alive', 'timeout=5',
  'TE', 'trailers',
  'Trailer', 'x-t',
  'Transfer-Encoding', 'chunked',
  'Upgrade', 'websocket',
  'Proxy-Authorization', 'Basic Zm9v',
  'Proxy-Connection', 'keep-alive',
  'Expect', '100-continue',
  'Content-Length', '999',
  'Authorization', 'Bearer client-gateway-token',
  'X-Api-Key', 'client-gateway-token',
  'x-goog-api-key', 'client-gateway-token',
  'X-Forwarded-For', '10.0.0.1, 10.0.0.2',
  'X-Forwarded-Proto', 'http',
  'Forwarded', 'for=10.0.0.1',
  'X-Real-IP', '10.0.0.1',
  'Accept-Encoding', 'gzip, br',
  'Content-Type', 'application/json',
  'X-Custom', 'a',
  'X-Custom', 'b',
];

describe('buildUpstreamHeaders', () => {
  const out = toMap(buildUpstreamHeaders(hostile, options({ contentLength: 12 })));

  it.each([
    'host', 'connection', 'x-secret-hop', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade',
    'proxy-authorization', 'proxy-connection', 'expect', 'x-api-key', 'x-goog-api-key', 'forwarded', 'x-real-ip',
  ])('drops %s', (name) => {
    expect(out.has(name)).toBe(false);
  });

  it('replaces forwarding headers with what keyrelay saw', () => {
    expect(out.get('x-forwarded-for')).toEqual(['203.0.113.7']);
    expect(out.get('x-forwarded-proto')).toEqual(['https']);
  });

  it('injects the pool key over the client authorization', () => {
    expect(out.get('authorization')).toEqual([`Bearer ${CANARY}`]);
  });

  it('sets content-length from the buffered body only', () => {
    expect(out.get('content-length')).toEqual(['12']);
    const streamed = toMap(buildUpstreamHeaders(hostile, options()));
    expect(streamed.has('content-length')).toBe(false);
  });

  it('keeps end-to-end headers, repeats and accept-encoding untouched', () => {
    expect(out.get('accept-encoding')).toEqual(['gzip, br']);
    expect(out.get('content-type')).toEqual(['application/json']);
    expect(out.get('x-custom')).toEqual(['a', 'b']);
  });

  it('a key header value is checked again whenever the key\'s secret or auth type changes, cached or not', () => {
    const key = {};
    const header = (auth: UpstreamHeaderOptions['auth']) => toMap(buildUpstreamHeaders([], options({ auth })));
    expect(header({ type: 'BEARER', name: null, secret: CANARY, cacheKey: key }).get('authorization')).toEqual([`Bearer ${CANARY}`]);
    expect(header({ type: 'BEARER', name: null, secret: CANARY, cacheKey: key }).get('authorization')).toEqual([`Bearer ${CANARY}`]);
    expect(header({ type: 'BEARER', name: null, secret: 'sk-rotated-0000000001', cacheKey: key }).get('authorization')).toEqual(['Bearer sk-rotated-0000000001']);
    expect(header({ type: 'HEADER', name: 'x-api-key', secret: 'sk-rotated-0000000001', cacheKey: key }).get('x-api-key')).toEqual(['sk-rotated-0000000001']);
    expect(() => header({ type: 'BEARER', name: null, secret: 'sk-bad\r\nx-injected: 1', cacheKey: key })).toThrow(UnsafeHeaderError);
    expect(() => header({ type: 'BEARER', name: null, secret: '', cacheKey: key })).toThrow(UnsafeHeaderError);
  });

  it('HEADER auth: the key wins over client and static headers of that name', () => {
    const flat = buildUpstreamHeaders(['X-API-KEY', 'client', 'anthropic-version', 'old'], options({
      stripNames: new Set(),
      staticHeaders: { 'Anthropic-Version': '2023-06-01', 'x-api-key': 'static', Connection: 'close', Host: 'x' },
      auth: { type: 'HEADER', name: 'x-api-key', secret: CANARY },
    }));
    const map = toMap(flat);
    expect(map.get('x-api-key')).toEqual([CANARY]);
    expect(map.get('anthropic-version')).toEqual(['2023-06-01']);
    expect(map.has('connection')).toBe(false);
    expect(map.has('host')).toBe(false);
    expect(flat.slice(-2)).toEqual(['x-api-key', CANARY]);
  });

  it('QUERY auth adds no credential header and still strips client credentials', () => {
    const map = toMap(buildUpstreamHeaders(hostile, options({ auth: { type: 'QUERY', name: 'key', secret: CANARY } })));
    expect(map.has('authorization')).toBe(false);
    expect([...map.values()].flat().some((v) => v.includes('client-gateway-token'))).toBe(false);
  });

  it.each([
    ['a secret with CR/LF', options({ auth: { type: 'BEARER', name: null, secret: `${CANARY}\r\nX-Evil: 1` } })],
    ['an empty secret', options({ auth: { type: 'BEARER', name: null, secret: '' } })],
    ['a HEADER auth without a name', options({ auth: { type: 'HEADER', name: null, secret: CANARY } })],
    ['a HEADER auth with a bad name', options({ auth: { type: 'HEADER', name: 'x key', secret: CANARY } })],
    ['a static value with LF', options({ staticHeaders: { 'x-a': 'ok\nX-Evil: 1' } })],
    ['a static name with a colon', options({ staticHeaders: { 'x-a:': 'ok' } })],
  ])('fails closed on %s, without echoing the value', (_label, opts) => {
    let caught: unknown;
    try {
      buildUpstreamHeaders([], opts);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UnsafeHeaderError);
    expect((caught as UnsafeHeaderError).code).toBe('UNSAFE_HEADER');
    expect(String((caught as Error).message)).not.toContain(CANARY);
  });
});

describe('header validators', () => {
  it.each([
    ['x-api-key', true],
    ["!#$%&'*+-.^_`|~09azAZ", true],
    ['', false],
    ['x key', false],
    ['x:key', false],
    ['x\r\nkey', false],
    ['ключ', false],
  ])('name %j -> %s', (name, ok) => {
    expect(isSafeHeaderName(name)).toBe(ok);
  });

  it.each([
    ['Bearer sk-abc', true],
    ['tab\tinside', true],
    ['', true],
    ['caf\u00e9', true],
    ['a\rb', false],
    ['a\nb', false],
    ['a\u0000b', false],
    ['a\u007fb', false],
    ['a\u0001b', false],
    ['emoji \u{1F600}', false],
  ])('value %j -> %s', (value, ok) => {
    expect(isSafeHeaderValue(value)).toBe(ok);
  });
});

describe('filterResponseHeaders', () => {
  it('filters undici-style records and keeps multi-valued set-cookie', () => {
    const out = filterResponseHeaders({
      connection: 'keep-alive, x-hop',
      'x-hop': 'drop me',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'proxy-authenticate': 'Basic',
      upgrade: 'h2c',
      trailer: 'x',
      'content-encoding': 'gzip',
      'content-length': '42',
      'set-cookie': ['a=1', 'b=2'],
      'x-request-id': 'r1',
      'x-missing': undefined,
    });
    expect(out).toEqual({
      'content-encoding': 'gzip',
      'content-length': '42',
      'set-cookie': ['a=1', 'b=2'],
      'x-request-id': 'r1',
    });
  });

  it('accepts raw flat arrays, lower-casing and grouping repeats', () => {
    const out = filterResponseHeaders([
      'Set-Cookie', 'a=1', 'Connection', 'X-Hop', 'X-Hop', '1', 'Set-Cookie', 'b=2', 'Content-Type', 'text/plain',
    ]);
    expect(out).toEqual({ 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain' });
  });
});

describe('readClientCredential', () => {
  const h = (headers: IncomingHttpHeaders) => headers;
  it.each([
    [h({ authorization: 'Bearer tok-1' }), '', 'tok-1'],
    [h({ authorization: 'bearer   tok-1 ' }), '', 'tok-1'],
    [h({ authorization: 'Basic Zm9v', 'x-api-key': 'tok-2' }), '', 'tok-2'],
    [h({ 'x-api-key': 'tok-2', 'x-goog-api-key': 'tok-3' }), '?key=tok-4', 'tok-2'],
    [h({ 'x-goog-api-key': 'tok-3' }), '?key=tok-4', 'tok-3'],
    [h({}), '?alt=sse&key=tok-4', 'tok-4'],
    [h({}), 'key=tok%2D4', 'tok-4'],
    [h({ authorization: 'Bearer ' }), '?key=', null],
    [h({}), '?keyx=1', null],
  ])('%j %j -> %j', (headers, search, expected) => {
    expect(readClientCredential(headers, search)).toBe(expected);
  });
});

describe('headers on the wire through undici (no undici throw, nothing leaks)', () => {
  let server: Server;
  let pool: Pool;
  let seen: { url: string | undefined; headers: IncomingHttpHeaders } | null = null;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen = { url: req.url, headers: req.headers };
      req.resume();
      req.on('end', () => {
        res.setHeader('Connection', 'x-hop');
        res.setHeader('X-Hop', 'should not pass');
        res.setHeader('Set-Cookie', ['a=1', 'b=2']);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  afterAll(async () => {
    await pool.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends the filtered headers and the injected key', async () => {
    const body = '{"model":"x"}';
    const headers = buildUpstreamHeaders(hostile, options({ contentLength: Buffer.byteLength(body) }));
    const res = await pool.request({ method: 'POST', path: '/v1/chat', headers, body });
    const text = await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(text).toBe('ok');
    expect(seen?.headers.authorization).toBe(`Bearer ${CANARY}`);
    expect(seen?.headers.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(seen?.headers['x-forwarded-for']).toBe('203.0.113.7');
    expect(seen?.headers['x-secret-hop']).toBeUndefined();
    expect(seen?.headers['x-api-key']).toBeUndefined();
    expect(seen?.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    const filtered = filterResponseHeaders(res.headers);
    expect(filtered['x-hop']).toBeUndefined();
    expect(filtered['connection']).toBeUndefined();
    expect(filtered['set-cookie']).toEqual(['a=1', 'b=2']);
  });
});
