import { describe, expect, it } from 'vitest';
import { usageFromJson, usageFromJsonText, withStreamUsage } from '../../src/inspect/usage.ts';

describe('usageFromJson', () => {
  it('reads OpenAI chat and Responses usage', () => {
    expect(usageFromJson({ usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } })).toEqual({
      promptTokens: 3,
      completionTokens: 5,
      totalTokens: 8,
    });
    expect(usageFromJson({ object: 'response', usage: { input_tokens: 10, output_tokens: 4, total_tokens: 14 } })).toEqual({
      promptTokens: 10,
      completionTokens: 4,
      totalTokens: 14,
    });
  });

  it('reads Anthropic usage, counting cache reads and writes as input', () => {
    const body = { type: 'message', usage: { input_tokens: 20, cache_creation_input_tokens: 5, cache_read_input_tokens: 100, output_tokens: 7 } };
    expect(usageFromJson(body)).toEqual({ promptTokens: 125, completionTokens: 7, totalTokens: 132 });
  });

  it('reads Gemini usageMetadata', () => {
    const body = { candidates: [], usageMetadata: { promptTokenCount: 6, candidatesTokenCount: 2, totalTokenCount: 8 } };
    expect(usageFromJson(body)).toEqual({ promptTokens: 6, completionTokens: 2, totalTokens: 8 });
  });

  it('returns null when there is no usable usage', () => {
    for (const body of [null, 'usage', [], {}, { usage: null }, { usage: {} }, { usage: { prompt_tokens: 'x' } }, { usageMetadata: 3 }]) {
      expect(usageFromJson(body)).toBeNull();
    }
  });
});

describe('usageFromJsonText', () => {
  it('parses only text that mentions usage, and survives bad JSON', () => {
    expect(usageFromJsonText('{"usage":{"prompt_tokens":1,"completion_tokens":2}}')).toEqual({ promptTokens: 1, completionTokens: 2, totalTokens: 3 });
    expect(usageFromJsonText('{"ok":true}')).toBeNull();
    expect(usageFromJsonText('{"usage": tru')).toBeNull();
    expect(usageFromJsonText('')).toBeNull();
  });
});

describe('withStreamUsage', () => {
  it('adds include_usage to a streamed request, leaving the rest of the body byte for byte', () => {
    const body = '{"model":"gpt-x","seed":12345678901234567890,"stream":true,"messages":[]}\n';
    const out = withStreamUsage(body);
    expect(out).toBe('{"model":"gpt-x","seed":12345678901234567890,"stream":true,"messages":[],"stream_options":{"include_usage":true}}\n');
    expect(JSON.parse(out ?? '')).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('merges into existing stream_options', () => {
    const out = withStreamUsage('{"stream":true,"stream_options":{"include_obfuscation":false}}');
    expect(JSON.parse(out ?? '')).toEqual({ stream: true, stream_options: { include_obfuscation: false, include_usage: true } });
    expect(JSON.parse(withStreamUsage('{"stream":true,"stream_options":null}') ?? '')).toEqual({ stream: true, stream_options: { include_usage: true } });
  });

  it('returns null when nothing should change', () => {
    for (const body of [
      '{"stream":false}',
      '{"model":"m"}',
      '{"stream":"true"}',
      '{"stream":true,"stream_options":{"include_usage":true}}',
      '{"stream":true,"stream_options":{"include_usage":false}}',
      '{"stream":true,"stream_options":"weird"}',
      '[{"stream":true}]',
      'stream=true',
      '{"stream": true',
    ]) {
      expect(withStreamUsage(body), body).toBeNull();
    }
  });
});
