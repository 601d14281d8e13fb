import { describe, expect, it } from 'vitest';
import { MAX_SSE_LINE_CHARS, parseEventStreamJson, SseScanner } from '../../src/inspect/sse.ts';

function scan(...chunks: Array<Buffer | string>): SseScanner {
  const scanner = new SseScanner();
  for (const chunk of chunks) scanner.push(chunk);
  return scanner;
}

function summary(s: SseScanner): unknown {
  return { events: s.events, usage: s.usage, sawError: s.sawError, errorPayload: s.errorPayload, lastDataJson: s.lastDataJson };
}

const chunk = (content: string, extra = '') =>
  `{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${content}"}}]${extra}}`;

// Mixed line endings, a comment, a multi-line data field, multibyte text, `usage: null` chunks.
const SAMPLE = [
  ': keep-alive comment\r\n',
  `data: ${chunk('héllo 😀', ',"usage":null')}\r\n\r\n`,
  `data: ${chunk(' wörld', ',"usage":null')}\n\n`,
  'event: note\rdata: line one\rdata: line two\r\r',
  'id: 7\nretry: 100\ndata:{"id":"c1","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}\n\n',
  'data: [DONE]\r\n\r\n',
].join('');

const SAMPLE_RESULT = {
  events: 4,
  usage: { promptTokens: 11, completionTokens: 7, totalTokens: 18 },
  sawError: false,
  errorPayload: undefined,
  lastDataJson: { id: 'c1', choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } },
};

describe('SseScanner', () => {
  it('reads a whole OpenAI-style stream', () => {
    expect(summary(scan(SAMPLE))).toEqual(SAMPLE_RESULT);
  });

  it('gives the same result however the bytes are split', () => {
    const bytes = Buffer.from(SAMPLE);
    for (let at = 0; at <= bytes.length; at++) {
      expect(summary(scan(bytes.subarray(0, at), bytes.subarray(at))), `split at ${at}`).toEqual(SAMPLE_RESULT);
    }
    expect(summary(scan(...Array.from(bytes, (byte) => Buffer.from([byte]))))).toEqual(SAMPLE_RESULT);
    expect(summary(scan(...SAMPLE.split('')))).toEqual(SAMPLE_RESULT);
  });

  it('does not parse chunks whose usage is null', () => {
    const scanner = scan(`data: ${chunk('x', ',"usage":null')}\n\n`, `data: ${chunk('say \\"usage\\": {}')}\n\n`);
    expect([scanner.events, scanner.lastDataJson, scanner.usage]).toEqual([2, undefined, null]);
  });

  it('sums Anthropic usage across message_start and message_delta', () => {
    const scanner = scan(
      'event: message_start\ndata: {"type":"message_start","message":{"id":"m","usage":{"input_tokens":25,"cache_read_input_tokens":100,"output_tokens":1}}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n',
      'event: ping\ndata: {"type": "ping"}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    );
    expect(scanner.usage).toEqual({ promptTokens: 125, completionTokens: 15, totalTokens: 140 });
    expect(scanner.events).toBe(5);
  });

  it('reads Gemini usageMetadata (the last chunk wins)', () => {
    const scanner = scan(
      'data: {"candidates":[{"content":{"parts":[{"text":"a"}]}}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":1,"totalTokenCount":5}}\r\n\r\n',
      'data: {"candidates":[{"content":{"parts":[{"text":"b"}]}}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":9,"thoughtsTokenCount":2,"totalTokenCount":15}}\r\n\r\n',
    );
    expect(scanner.usage).toEqual({ promptTokens: 4, completionTokens: 11, totalTokens: 15 });
  });

  it('flags an `event: error`, keeping its payload', () => {
    const scanner = scan(
      `data: ${chunk('partial')}\n\n`,
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
    );
    expect(scanner.sawError).toBe(true);
    expect(scanner.errorPayload).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  });

  it('flags a data payload with a top-level error, and an error event that is not JSON', () => {
    expect(scan('data: {"error":{"message":"boom","code":500}}\n\n').sawError).toBe(true);
    const raw = scan('event: error\ndata: upstream went away\n\n');
    expect([raw.sawError, raw.errorPayload]).toEqual([true, 'upstream went away']);
    expect(scan('data: {"error":null,"x":1}\n\n').sawError).toBe(false);
    expect(scan(`data: ${chunk('an error occurred')}\n\n`).sawError).toBe(false);
  });

  it('ignores [DONE], comments and events without data', () => {
    const scanner = scan(': comment\n\n', 'event: ping\n\n', 'data: [DONE]\n\n');
    expect([scanner.events, scanner.sawError, scanner.usage]).toEqual([0, false, null]);
  });

  it('does not dispatch an event until its blank line arrives', () => {
    const scanner = scan('data: {"usage":{"prompt_tokens":1,"completion_tokens":1}}\n');
    expect(scanner.events).toBe(0);
    scanner.push('\n');
    expect([scanner.events, scanner.usage]).toEqual([1, { promptTokens: 1, completionTokens: 1, totalTokens: 2 }]);
  });

  it('drops a line that outgrows the buffer limit and recovers after it', () => {
    const scanner = new SseScanner();
    scanner.push('data: {"usage":');
    const filler = 'x'.repeat(64 * 1024);
    for (let sent = 0; sent <= MAX_SSE_LINE_CHARS; sent += filler.length) scanner.push(filler);
    scanner.push('}\n\ndata: {"usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}}\n\n');
    expect(scanner.events).toBe(1);
    expect(scanner.usage).toEqual({ promptTokens: 2, completionTokens: 3, totalTokens: 5 });
  });
});

describe('parseEventStreamJson (the rules read a finished body with the same reader)', () => {
  it('reads every JSON payload in order across mixed line ends, skipping comments, [DONE] and non-JSON', () => {
    const body = ': hi\r\ndata: {"a":1}\r\n\r\nevent: x\rdata: {"b":\rdata: 2}\r\rdata: not json\n\ndata: [DONE]\n\n';
    expect(parseEventStreamJson(body)).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('keeps a last event that has no blank line or line break after it, and ignores a cut-off one', () => {
    expect(parseEventStreamJson('data: {"a":1}\n\ndata: {"b":2}')).toEqual([{ a: 1 }, { b: 2 }]);
    expect(parseEventStreamJson('data: {"a":1}\n\ndata: {"b":')).toEqual([{ a: 1 }]);
  });

  it('reads one JSON document per data line when an upstream sends no blank lines between events', () => {
    expect(parseEventStreamJson('data: {"a":1}\ndata: {"b":2}\n')).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('does not drop data longer than the streaming limit (the rules body is capped before)', () => {
    const long = 'x'.repeat(MAX_SSE_LINE_CHARS + 10);
    expect(parseEventStreamJson(`data: {"s":"${long}"}\n\n`)).toEqual([{ s: long }]);
  });

  it('passes each payload through the given parser', () => {
    const seen: string[] = [];
    parseEventStreamJson('data: {"a":1}\n\n', (text) => (seen.push(text), { ok: false }));
    expect(seen).toEqual(['{"a":1}']);
  });
});
