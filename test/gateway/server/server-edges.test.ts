// The server's edges (stray upgrades, CORS, chunked GraphQL bodies): WebSocket upgrades anywhere
// but /graphql are refused before they are accepted; CORS only for the
// configured origins; a chunked GraphQL body is cut at the limit.
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../support/gateway.ts';

/** Sends a raw WebSocket upgrade; resolves with the head once the server closed the socket, or switched protocols, or after 10 s. */
function rawUpgrade(base: string, path: string, origin = 'https://evil.example'): Promise<{ head: string; closedByServer: boolean }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ head, closedByServer: false });
    }, 10_000);
    socket.on('data', (d) => {
      head += d.toString('latin1');
      if (head.startsWith('HTTP/1.1 101') && head.includes('\r\n\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ head, closedByServer: false });
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ head, closedByServer: true }); // a no-op after a 101 (already resolved)
    });
    socket.on('error', reject);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nOrigin: ${origin}\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
}

/** POSTs a GraphQL body in chunks without Content-Length; the status, or 0 if the server cut the connection. */
function chunkedPost(base: string, bytes: number): Promise<number> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, 'transfer-encoding': 'chunked' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    const filler = ' '.repeat(64 * 1024);
    req.write('{"query":"{ __typename }"');
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        sent += filler.length;
        if (!req.write(filler)) return void req.once('drain', pump);
      }
      req.end('}');
    };
    pump();
  });
}

describe('server edges', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ env: { KEYRELAY_ALLOWED_ORIGINS: 'https://admin.example' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses WebSocket upgrades on every path but /graphql, closing the socket, without a stack', async () => {
    const errors = vi.spyOn(console, 'error');
    const paths = ['/proxy/x/y', '/healthz', '/metrics', '/readyz', '/nope', '/graphql/extra'];
    const results = await Promise.all(paths.flatMap((p) => Array.from({ length: 5 }, () => rawUpgrade(t.url, p))));
    for (const r of results) {
      expect(r.head).toMatch(/^HTTP\/1\.1 404/);
      expect(r.closedByServer).toBe(true);
    }
    expect(errors).not.toHaveBeenCalled();
    expect(t.logLines.join('\n')).not.toMatch(/\n\s+at /);
    errors.mockRestore();
  });

  it('still upgrades /graphql for an allowed origin', async () => {
    const r = await rawUpgrade(t.url, '/graphql', 'https://admin.example');
    expect(r.head).toMatch(/^HTTP\/1\.1 101/);
  });

  it('grants CORS only to a configured origin, never reflecting another', async () => {
    const preflight = (origin: string) =>
      fetch(`${t.url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' } });
    const evil = await preflight('https://evil.example');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(evil.headers.get('access-control-allow-credentials')).toBeNull();
    const post = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, body: '{"query":"{ __typename }"}' });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
    const good = await preflight('https://admin.example');
    expect(good.headers.get('access-control-allow-origin')).toBe('https://admin.example');
    expect(good.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('answers 413 to a chunked GraphQL body past the limit, and serves one under it', async () => {
    expect(await chunkedPost(t.url, 2 * 1024 * 1024)).toBe(413);
    expect(await chunkedPost(t.url, 20 * 1024 * 1024)).toBe(413);
    expect(await chunkedPost(t.url, 200 * 1024)).toBe(200);
  });
});

describe('no CORS by default', () => {
  it('grants no origin when KEYRELAY_ALLOWED_ORIGINS is empty', async () => {
    const t = await startTestGateway();
    try {
      const res = await fetch(`${t.url}/graphql`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await t.close();
    }
  });
});
