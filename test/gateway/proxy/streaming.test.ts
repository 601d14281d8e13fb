// Streaming: chunks pass as they arrive, a stream
// that breaks ends with an explicit error, a client that leaves aborts the
// upstream at once.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createToken, createUpstream, logRows, send, waitForLog } from './support.ts';

interface Streamed {
  res: IncomingMessage;
  chunks: Array<{ at: number; text: string }>;
  error: Error | null;
}

/** GETs a path and records every chunk with its arrival time; resolves when the response ends or breaks. */
function stream(base: string, path: string, headers: Record<string, string>): Promise<Streamed> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, headers, agent: false }, (res) => {
      const out: Streamed = { res, chunks: [], error: null };
      res.on('data', (c: Buffer) => out.chunks.push({ at: Date.now(), text: c.toString('utf8') }));
      res.on('end', () => resolve(out));
      res.on('error', (error) => resolve({ ...out, error }));
      res.on('aborted', () => resolve({ ...out, error: out.error ?? new Error('aborted') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('streaming', () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let auth: Record<string, string>;
  const KEY = 'sk-stream-000000000000000000000001';

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway();
    const up = await createUpstream(t, mock, { name: 'sse', bodyTimeoutMs: 300, bodyLogging: 'ALL' }, [{ value: KEY }]);
    auth = bearer((await createToken(t, [up.id])).token);
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  it('passes SSE events as they arrive, byte-identical to the mock, not coalesced', async () => {
    const direct = await send(mock.url, { path: '/x', headers: { 'x-mock': 'sse:4:80', authorization: `Bearer ${KEY}` } });
    const got = await stream(t.url, '/proxy/sse/x', { ...auth, 'x-mock': 'sse:4:80' });
    expect(got.error).toBeNull();
    expect(got.res.headers['content-type']).toBe('text/event-stream');
    expect(got.chunks.map((c) => c.text).join('')).toBe(direct.body);
    // Six writes 80 ms apart (4 events, usage, [DONE]): each arrives on its own, spread over time.
    expect(got.chunks.length).toBeGreaterThanOrEqual(5);
    expect(got.chunks.at(-1)!.at - got.chunks[0].at).toBeGreaterThanOrEqual(200);
    const [row] = await logRows(t, String(got.res.headers['x-request-id']));
    expect(row).toMatchObject({ outcome: 'ok' });
    expect(Number(row.totalTokens)).toBe(7);
  });

  it('a stream that stalls mid-way ends with an SSE error event (no [DONE]) and is logged as interrupted', async () => {
    const closed = mock.waitForClose();
    const got = await stream(t.url, '/proxy/sse/x', { ...auth, 'x-mock': 'stall-after:3' });
    const text = got.chunks.map((c) => c.text).join('');
    expect(got.res.statusCode).toBe(200);
    expect(text.match(/^data: /gm)?.length).toBe(4); // 3 events + keyrelay's error data
    expect(text).toMatch(/event: error\ndata: \{"error":\{[^\n]*\}\}\n\n$/);
    expect(text).not.toContain('[DONE]');
    await closed;
    const [row] = await logRows(t, String(got.res.headers['x-request-id']));
    expect(row).toMatchObject({ outcome: 'stream_interrupted' });
    expect(Number(row.status)).toBe(200);
    expect(String(row.error)).toContain('UND_ERR_BODY_TIMEOUT');
  });

  it.each(['reset-after:2048', 'close-after:2048'])('a non-SSE body cut mid-way (%s) aborts the client response and is logged as interrupted', async (mode) => {
    const got = await stream(t.url, '/proxy/sse/x', { ...auth, 'x-mock': mode });
    expect(got.res.statusCode).toBe(200);
    expect(got.error).not.toBeNull();
    const [row] = await logRows(t, String(got.res.headers['x-request-id']));
    expect(row.outcome).toBe('stream_interrupted');
    expect(t.gateway.state.keys.get(row.keyId!)!.status).toBe('ACTIVE');
  });

  it('a client that disconnects mid-stream: the upstream sees its socket close long before the stream would end; logged 499', async () => {
    const url = new URL(t.url);
    mock.reset();
    const closed = mock.waitForClose();
    let requestId = '';
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: '/proxy/sse/x', headers: { ...auth, 'x-mock': 'sse:200:100' }, agent: false }, (res) => {
        requestId = String(res.headers['x-request-id']);
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.on('close', () => resolve());
      req.end();
      setTimeout(() => reject(new Error('no first event')), 5000).unref();
    });
    const disconnectedAt = Date.now();
    await closed;
    // Behaviour, with room for a loaded machine: the upstream would otherwise run on for 10-20 s.
    expect(Date.now() - disconnectedAt).toBeLessThan(5000);
    const [row] = await logRows(t, requestId);
    expect(row).toMatchObject({ outcome: 'client_closed' });
    expect(Number(row.status)).toBe(499);
    const key = t.gateway.state.keys.get(row.keyId!)!;
    expect(key.status).toBe('ACTIVE');
  });

  it('a client that disconnects before the first byte aborts the upstream too', async () => {
    const url = new URL(t.url);
    mock.reset();
    const closed = mock.waitForClose();
    const req = httpRequest({ host: url.hostname, port: url.port, path: '/proxy/sse/x', headers: { ...auth, 'x-mock': 'slow:10000', 'x-request-id': 'early-leaver-1' }, agent: false });
    req.on('error', () => {});
    req.end();
    await mock.waitForRequest();
    req.destroy();
    const disconnectedAt = Date.now();
    await closed;
    // Behaviour, with room for a loaded machine: the upstream would otherwise run on for 10-20 s.
    expect(Date.now() - disconnectedAt).toBeLessThan(5000);
    const [row] = await logRows(t, 'early-leaver-1');
    expect(Number(row.status)).toBe(499);
    expect(row.outcome).toBe('client_closed');
  });

  it('a large body streams through with bounded memory; the logged body is capped and marked truncated', async () => {
    const size = 48 * 1024 * 1024;
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const res = await new Promise<{ bytes: number; requestId: string }>((resolve, reject) => {
      const url = new URL(t.url);
      const req = httpRequest({ host: url.hostname, port: url.port, path: '/proxy/sse/x', headers: { ...auth, 'x-mock': `huge:${size}` }, agent: false }, (r) => {
        let bytes = 0;
        r.on('data', (c: Buffer) => (bytes += c.length));
        r.on('end', () => resolve({ bytes, requestId: String(r.headers['x-request-id']) }));
      });
      req.on('error', reject);
      req.end();
    });
    clearInterval(sampler);
    expect(res.bytes).toBe(size);
    expect(peak - before).toBeLessThan(64 * 1024 * 1024);
    const [row] = await logRows(t, res.requestId);
    expect(Number(row.bytesOut)).toBe(size);
    expect(Boolean(Number(row.bodyTruncated))).toBe(true);
    expect(String(row.responseBody).length).toBeLessThanOrEqual(64 * 1024);
  });

  it('a client that disconnects while still sending its body: logged 499, the upstream never contacted', async () => {
    const url = new URL(t.url);
    mock.reset();
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/proxy/sse/x', headers: { ...auth, 'content-length': '1000', 'x-request-id': 'half-upload-1' }, agent: false });
    req.on('error', () => {});
    const logged = waitForLog(t, 'half-upload-1');
    req.write(Buffer.alloc(100, 'a'));
    // No event says the gateway has read the head; give it a moment before hanging up.
    await new Promise((resolve) => setTimeout(resolve, 50));
    req.destroy();
    const row = await logged;
    expect(row).toMatchObject({ outcome: 'client_closed', status: 499, attempts: 0 });
    expect(mock.hits).toBe(0);
  });

  it('HEAD passes through with the upstream headers and no body', async () => {
    const res = await send(t.url, { method: 'HEAD', path: '/proxy/sse/x', headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBeDefined();
    expect(res.body).toBe('');
  });
});
