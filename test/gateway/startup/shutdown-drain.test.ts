// Shutdown (SIGTERM mid-traffic): once draining starts, an idle keep-alive
// connection is closed rather than serving a new request, responses still
// being prepared say `connection: close`, and streams still open at the drain
// deadline end with an SSE error event, not a TCP reset.
import { Agent, request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createToken, createUpstream } from '../proxy/support.ts';

interface Reply {
  status: number;
  connection: string | undefined;
  body: string;
}

function get(url: string, path: string, headers: Record<string, string>, agent: Agent | false): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('draining at shutdown', () => {
  let t: TestGateway | null = null;
  let mock: MockUpstream | null = null;
  afterEach(async () => {
    await mock?.close();
  });

  async function setup(): Promise<{ t: TestGateway; headers: Record<string, string> }> {
    mock = await startMockUpstream();
    t = await startTestGateway();
    await createUpstream(t, mock, { name: 'drain' }, [{ value: 'sk-drain-00000000000000000000000001' }]);
    return { t, headers: bearer((await createToken(t)).token) };
  }

  it('closes idle keep-alive connections and answers in-flight requests with connection: close', async () => {
    const { t, headers } = await setup();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get(t.url, '/proxy/drain/a', headers, agent)).status).toBe(200);
      // A slow request on its own connection keeps the drain going.
      const arrived = new Promise((r) => mock!.once('request', r));
      const slow = get(t.url, '/proxy/drain/slow', { ...headers, 'x-mock': 'slow:800' }, false);
      await arrived;
      const closing = t.gateway.close({ drainMs: 5000 });
      await new Promise((r) => setTimeout(r, 100));
      // The idle keep-alive connection is gone: a new request on it is not served.
      const late = await get(t.url, '/proxy/drain/b', headers, agent).then((r) => r.status, (e: Error) => e.message);
      expect(late).not.toBe(200);
      const slowReply = await slow;
      expect(slowReply.status).toBe(200);
      expect(slowReply.connection).toBe('close');
      await closing;
    } finally {
      agent.destroy();
    }
  }, 30_000);

  it('a connection busy when draining starts serves no new request once its response ends', async () => {
    const { t, headers } = await setup();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // The head is sent before draining starts; the body ends after.
      const first = new Promise((r) => mock!.once('request', r));
      const streaming = get(t.url, '/proxy/drain/s', { ...headers, 'x-mock': 'sse:6:100' }, agent);
      await first;
      await new Promise((r) => setTimeout(r, 150));
      const closing = t.gateway.close({ drainMs: 5000 });
      // Keeps the drain going past the stream's end.
      const slow = get(t.url, '/proxy/drain/slow', { ...headers, 'x-mock': 'slow:1500' }, false).catch(() => null);
      expect((await streaming).status).toBe(200);
      const late = await get(t.url, '/proxy/drain/b', headers, agent).then((r) => r.status, (e: Error) => e.message);
      expect(late).not.toBe(200);
      await slow;
      await closing;
    } finally {
      agent.destroy();
    }
  }, 30_000);

  it('ends a stream still open at the drain deadline with an SSE error event', async () => {
    const { t, headers } = await setup();
    const first = new Promise((r) => mock!.once('request', r));
    const stream = get(t.url, '/proxy/drain/v1/stream', { ...headers, 'x-mock': 'sse:200:50' }, false);
    await first;
    await new Promise((r) => setTimeout(r, 200));
    await t.gateway.close({ drainMs: 300 });
    const reply = await stream;
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('event: error');
    expect(reply.body).toContain('GATEWAY_SHUTTING_DOWN');
    expect(reply.body).not.toContain('[DONE]');
  }, 30_000);
});
