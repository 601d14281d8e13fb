// The byte scanners that read the model and token usage without a full parse.
import { describe, expect, it } from 'vitest';
import { topLevelString, usageFromJsonBuffer } from '../../src/inspect/json-scan.ts';
import { usageFromJson } from '../../src/inspect/usage.ts';

const b = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('topLevelString', () => {
  it('finds a top-level string and ignores the same key nested anywhere before it', () => {
    const body = { messages: [{ role: 'user', content: 'use "model": "fake" please', model: 'nested' }], metadata: { model: 'meta' }, n: 1, ok: true, none: null, model: 'gpt-4o' };
    expect(topLevelString(b(body), 'model')).toBe('gpt-4o');
  });
  it('decodes escapes, and returns null for missing keys, non-strings and non-objects', () => {
    expect(topLevelString(b({ model: 'a"b\\c\u00e9' }), 'model')).toBe('a"b\\c\u00e9');
    expect(topLevelString(b({ other: 'x' }), 'model')).toBeNull();
    expect(topLevelString(b({ model: 3 }), 'model')).toBeNull();
    expect(topLevelString(b(['model', 'x']), 'model')).toBeNull();
    expect(topLevelString(b('  {"model" : "spaced" } '), 'model')).toBe('spaced');
    expect(topLevelString(b('{"model": "unterminated'), 'model')).toBeNull();
    expect(topLevelString(b('not json'), 'model')).toBeNull();
  });
});

describe('usageFromJsonBuffer', () => {
  it('reads OpenAI and Anthropic usage, and falls back for Gemini', () => {
    expect(usageFromJsonBuffer(b({ choices: [{ message: { content: 'the "usage": {} text' } }], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } }))).toEqual({ promptTokens: 3, completionTokens: 5, totalTokens: 8 });
    expect(usageFromJsonBuffer(b({ content: [], usage: { input_tokens: 10, output_tokens: 2 } }))).toEqual({ promptTokens: 10, completionTokens: 2, totalTokens: 12 });
    expect(usageFromJsonBuffer(b({ usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 6, totalTokenCount: 10 } }))).toEqual({ promptTokens: 4, completionTokens: 6, totalTokens: 10 });
    expect(usageFromJsonBuffer(b({ ok: true }))).toBeNull();
    expect(usageFromJsonBuffer(b('{"usage": {"prompt_tokens": 1'))).toBeNull();
  });

  it('reads usage objects exactly as a full parse would, whatever their shape', () => {
    const shapes: string[] = [
      '{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}',
      '{ "prompt_tokens" : 9 , "completion_tokens" : 7 , "total_tokens" : 16 }',
      '{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"accepted_prediction_tokens":0}}',
      '{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":2,"output_tokens":3,"service_tier":"standard","server_tool_use":null}',
      '{"input_tokens":10,"output_tokens":2,"cache_creation":{"ephemeral_5m_input_tokens":0}}',
      '{"prompt_tokens":1.5,"completion_tokens":2}',
      '{"prompt_tokens":1e3,"completion_tokens":2}',
      '{"prompt_tokens":-1,"completion_tokens":2}',
      '{"prompt_tokens":007,"completion_tokens":2}',
      '{"prompt_tokens":"9","completion_tokens":true,"total_tokens":null}',
      '{"prompt\\u005ftokens":4,"completion_tokens":2}',
      '{"prompt_tokens":4,"prompt_tokens":6,"completion_tokens":2}',
      '{"prompt_tokens":12345678901234567890,"completion_tokens":2}',
      '{"other":[1,{"a":"}"}],"prompt_tokens":3}',
      '{}',
      '{"prompt_tokens":3,}',
      '{"prompt_tokens" 3}',
      '{"prompt_tokens":tru}',
      '{"prompt_tokens":3,,"completion_tokens":1}',
      '{,}',
      '{"prompt_tokens":1 "completion_tokens":2}',
      '{"prompt_tokens":0,"completion_tokens":0}',
    ];
    for (const usage of shapes) {
      const body = `{"id":"x","choices":[],"usage":${usage}}`;
      let expected: unknown;
      try {
        expected = usageFromJson({ usage: JSON.parse(usage) as unknown });
      } catch {
        expected = null;
      }
      expect([usage, usageFromJsonBuffer(b(body))]).toEqual([usage, expected]);
    }
  });
});

