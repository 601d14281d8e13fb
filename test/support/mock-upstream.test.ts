import OpenAI from 'openai';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SseScanner } from '../../src/inspect/sse.ts';
import { startMockUpstream, type MockUpstream } from './mock-upstream.ts';

let mock: MockUpstream;
const agent = new Agent();

beforeAll(async () => {
  mock = await startMockUpstream({ byKey: { 'key-b': 'status:429:{"error":{"message":"rate limited {key}"}}' } });
});
afterEach(() => mock.reset());
afterAll(async () => {
  await agent.close();
  await mock.close();
});

const call = (path: string, opts: Parameters<typeof request>[1] = {}) => request(`${mock.url}${path}`, { dispatcher: agent, ...opts });

describe('mock upstream', () => {
  it('answers ok with usage and records the request and key', async () => {
    const res = await call('/v1/models?key=query-key', { headers: { 'x-mock': 'ok' } });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ ok: true, path: '/v1/models', usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } });
    expect(mock.hits).toBe(1);
    expect(mock.keysSeen).toEqual(['query-key']);
    expect(mock.requests[0]).toMatchObject({ method: 'GET', url: '/v1/models?key=query-key', key: 'query-key' });
  });

  it('echoes method, url, every header as received, and the body', async () => {
    const res = await call('/a/b?c=1', {
      method: 'POST',
      // A flat name/value list, so the header can be sent twice.
      headers: ['x-mock', 'echo', 'X-Dup', 'one', 'x-dup', 'two', 'x-api-key', 'key-a', 'content-type', 'text/plain'],
      body: 'payload',
    });
    const echo = (await res.body.json()) as { method: string; url: string; headers: Record<string, unknown>; body: string };
    expect(echo).toMatchObject({ method: 'POST', url: '/a/b?c=1', body: 'payload' });
    expect(echo.headers['x-dup']).toEqual(['one', 'two']);
    expect(echo.headers['x-api-key']).toBe('key-a');
    expect(mock.hitsByKey).toEqual({ 'key-a': 1 });
  });

  it('maps a key to a status, echoing the key and a Retry-After on request', async () => {
    const limited = await call('/v1/x', { headers: { authorization: 'Bearer key-b', 'x-mock-retry-after': '7' } });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('7');
    expect(await limited.body.json()).toEqual({ error: { message: 'rate limited key-b' } });

    const fine = await call('/v1/x', { headers: { authorization: 'Bearer key-a' } });
    expect(fine.statusCode).toBe(200);
    await fine.body.dump();
    expect(mock.keysSeen).toEqual(['key-b', 'key-a']);
    expect(mock.hitsByKey).toEqual({ 'key-b': 1, 'key-a': 1 });
  });

  it('streams sse:<n>:<ms> as chat.completion.chunk events with a final usage chunk', async () => {
    const res = await call('/v1/x', { headers: { 'x-mock': 'sse:3:5' } });
    expect(res.headers['content-type']).toBe('text/event-stream');
    const scanner = new SseScanner();
    const texts: string[] = [];
    for await (const chunk of res.body) {
      scanner.push(chunk as Buffer);
      texts.push(String(chunk));
    }
    const text = texts.join('');
    expect(scanner.events).toBe(4);
    expect(scanner.usage).toEqual({ promptTokens: 3, completionTokens: 3, totalTokens: 6 });
    expect(text).toContain('"object":"chat.completion.chunk"');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('reset-after: the client sees a connection error', async () => {
    const outcome = call('/v1/x', { headers: { 'x-mock': 'reset-after:100' } }).then((res) => res.body.text());
    await expect(outcome).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|UND_ERR_SOCKET/) });
  });

  it('close-after: the client sees a premature close', async () => {
    const outcome = call('/v1/x', { headers: { 'x-mock': 'close-after:10' } }).then((res) => res.body.text());
    await expect(outcome).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
  });

  it('garbage and bad-json', async () => {
    await expect(call('/v1/x', { headers: { 'x-mock': 'garbage' } })).rejects.toThrow();
    const bad = await call('/v1/x', { headers: { 'x-mock': 'bad-json' } });
    expect(bad.headers['content-type']).toBe('application/json');
    await expect(bad.body.json()).rejects.toThrow(SyntaxError);
  });

  it('huge:<bytes> streams the whole body', async () => {
    const res = await call('/v1/x', { headers: { 'x-mock': `huge:${5 * 1024 * 1024 + 3}` } });
    let bytes = 0;
    for await (const chunk of res.body) bytes += (chunk as Buffer).length;
    expect(bytes).toBe(5 * 1024 * 1024 + 3);
  });

  it('stall-headers: a client abort is seen as a socket close', async () => {
    const arrived = mock.waitForRequest();
    const closed = mock.waitForClose();
    const controller = new AbortController();
    const pending = call('/v1/x', { headers: { 'x-mock': 'stall-headers' }, signal: controller.signal });
    await arrived;
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await closed;
    expect(mock.closedSockets).toBe(1);
  });

  it('stall-after:<n>: events arrive, then silence until the client aborts', async () => {
    const closed = mock.waitForClose();
    const controller = new AbortController();
    const res = await call('/v1/x', { headers: { 'x-mock': 'stall-after:2' }, signal: controller.signal });
    const scanner = new SseScanner();
    for await (const chunk of res.body) {
      scanner.push(chunk as Buffer);
      if (scanner.events === 2) break; // leaving the loop destroys the body
    }
    await closed;
    expect(mock.closedSockets).toBe(1);
  });

  it('serves the openai SDK, streamed and not', async () => {
    const client = new OpenAI({ apiKey: 'key-sdk', baseURL: `${mock.url}/v1`, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toBe('Hello from the mock');
    expect(completion.usage?.total_tokens).toBe(8);

    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let total: number | undefined;
    for await (const part of stream) {
      content += part.choices[0]?.delta.content ?? '';
      total = part.usage?.total_tokens ?? total;
    }
    expect([content, total]).toEqual(['Hello from the mock', 8]);
    expect(mock.keysSeen).toEqual(['key-sdk', 'key-sdk']);
  });
});

describe('mock upstream misuse', () => {
  it('answers 400 to an unknown or malformed mode instead of crashing', async () => {
    const upstream = await startMockUpstream();
    try {
      for (const mode of ['nope', 'status:abc', 'huge:-1']) {
        const res = await request(upstream.url, { headers: { 'x-mock': mode } });
        expect(res.statusCode, mode).toBe(400);
        await res.body.dump();
      }
    } finally {
      await upstream.close();
    }
  });
});
