// The official openai SDK (v6), pointed at keyrelay with a keyrelay access
// token as its API key, against the OpenAI-compatible mock.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { canaryKey, createToken, createUpstream, logRows } from './support.ts';

const KEY = canaryKey();

/** The `data:` payloads of an SSE body, [DONE] excluded. */
function sseData(text: string): unknown[] {
  return text
    .split('\n\n')
    .map((event) => event.split('\n').find((line) => line.startsWith('data: '))?.slice(6))
    .filter((data): data is string => data !== undefined && data !== '[DONE]')
    .map((data) => JSON.parse(data) as unknown);
}

describe('openai SDK through keyrelay', () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let client: OpenAI;

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway();
    await createUpstream(t, mock, { name: 'openai', bodyLogging: 'ALL' }, [{ value: KEY }]);
    const { token } = await createToken(t);
    client = new OpenAI({ apiKey: token, baseURL: `${t.url}/proxy/openai/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  it('gets a plain chat completion, with the pool key (not the token) upstream and usage logged', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0].message.content).toBe('Hello from the mock');
    expect(completion.model).toBe('gpt-test');
    const seen = mock.requests.at(-1)!;
    expect(seen.key).toBe(KEY);
    expect(seen.url).toBe('/v1/chat/completions');

    const [row] = (await logRows(t)).slice(-1);
    expect(row).toMatchObject({ method: 'POST', path: '/v1/chat/completions', outcome: 'ok', model: 'gpt-test' });
    expect(Number(row.status)).toBe(200);
    expect(Number(row.totalTokens)).toBe(8);
    expect(Number(row.promptTokens)).toBe(3);
    expect(String(row.responseBody)).toContain('Hello from the mock');
  });

  it('streams a chat completion: the chunks equal what the mock sent', async () => {
    const body = { model: 'gpt-stream', messages: [{ role: 'user' as const, content: 'hi' }], stream: true as const, stream_options: { include_usage: true } };
    const direct = await fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify(body),
    });
    const expected = sseData(await direct.text());
    expect(expected.length).toBeGreaterThan(3);

    const stream = await client.chat.completions.create(body);
    const chunks: unknown[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks).toEqual(expected);

    const [row] = (await logRows(t)).slice(-1);
    expect(row).toMatchObject({ outcome: 'ok', model: 'gpt-stream' });
    expect(Boolean(Number(row.stream))).toBe(true);
    expect(Number(row.completionTokens)).toBe(5);
  });

  it('adds stream_options.include_usage when the upstream asks for it, so usage is counted', async () => {
    await createUpstream(t, mock, { name: 'openai-usage', injectStreamUsage: true }, [{ value: canaryKey() }]);
    const { token } = await createToken(t);
    const usageClient = new OpenAI({ apiKey: token, baseURL: `${t.url}/proxy/openai-usage/v1`, maxRetries: 0 });
    const stream = await usageClient.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true });
    let last: unknown;
    for await (const chunk of stream) last = chunk;
    expect(JSON.parse(mock.requests.at(-1)!.body).stream_options).toEqual({ include_usage: true });
    expect((last as { usage?: unknown }).usage).toMatchObject({ total_tokens: 8 });
    const [row] = (await logRows(t)).slice(-1);
    expect(Number(row.totalTokens)).toBe(8);
  });
});
