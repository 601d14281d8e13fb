import { afterEach, describe, expect, it, vi } from 'vitest';
import { compileCondition } from '../../src/rules/compile.ts';
import { contextOf } from './sample.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createEvalContext', () => {
  it('parses a JSON body lazily and at most once', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const ctx = contextOf({ body: '{"error":{"code":"x"}}' });
    expect(parse).not.toHaveBeenCalled();
    expect(ctx.json()).toEqual({ error: { code: 'x' } });
    ctx.json();
    ctx.jsonDocuments();
    compileCondition({ jsonPath: { path: '$.error.code', equals: 'x' } }).test(ctx);
    compileCondition({ jsonPath: { path: '$.error', exists: true } }).test(ctx);
    expect(parse).toHaveBeenCalledTimes(1);
  });

  it('returns undefined for invalid JSON and never throws', () => {
    const ctx = contextOf({ body: '{"truncated": ' });
    expect(ctx.json()).toBeUndefined();
    expect(ctx.jsonDocuments()).toEqual([]);
    expect(contextOf({ body: null }).json()).toBeUndefined();
  });

  it('joins multi-valued headers and ignores undefined ones', () => {
    const ctx = contextOf({ headers: { via: ['1.1 a', '1.1 b'], 'x-none': undefined } });
    expect(ctx.header('Via')).toBe('1.1 a, 1.1 b');
    expect(ctx.header('x-none')).toBeUndefined();
  });
});

describe('event streams', () => {
  const stream = [
    'data: {"id":"1","choices":[{"delta":{"content":"Hel"}}]}',
    '',
    ': keep-alive comment',
    'data: {"id":"1","choices":[{"delta":{"content":"lo"}}]}',
    '',
    'data: {"error": {"message": "quota exceeded", "type": "insufficient_quota"}}',
    '',
    'data: [DONE]',
    '',
  ].join('\n');
  const hasError = compileCondition({ jsonPath: { path: '$.error', exists: true } });

  it('sees an error event at the end of a stream', () => {
    const ctx = contextOf({ headers: { 'content-type': 'text/event-stream; charset=utf-8' }, body: stream });
    expect(ctx.jsonDocuments()).toHaveLength(3);
    expect(hasError.test(ctx)).toBe(true);
    expect(compileCondition({ jsonPath: { path: '$.error.type', equals: 'insufficient_quota' } }).test(ctx)).toBe(true);
  });

  it('detects a stream by its body when the content type is missing', () => {
    expect(hasError.test(contextOf({ body: stream }))).toBe(true);
    expect(hasError.test(contextOf({ body: `event: message\n${stream}` }))).toBe(true);
  });

  it('does not match a clean stream, and exists:false needs every event clean', () => {
    const clean = stream.replace(/data: \{"error".*\n\n/, '');
    const ctx = contextOf({ headers: { 'content-type': 'text/event-stream' }, body: clean });
    expect(hasError.test(ctx)).toBe(false);
    const noError = compileCondition({ jsonPath: { path: '$.error', exists: false } });
    expect(noError.test(ctx)).toBe(true);
    expect(noError.test(contextOf({ body: stream }))).toBe(false);
  });

  it('handles CRLF, multi-line data and a truncated last event', () => {
    const body = 'data: {"a":\r\ndata: 1}\r\n\r\ndata: {"error": {"code": 5}}\r\n\r\ndata: {"cut": tr';
    const ctx = contextOf({ headers: { 'content-type': 'text/event-stream' }, body });
    expect(ctx.jsonDocuments()).toEqual([{ a: 1 }, { error: { code: 5 } }]);
  });

  it('lets body contains/regex see the raw stream text', () => {
    const ctx = contextOf({ headers: { 'content-type': 'text/event-stream' }, body: stream });
    expect(compileCondition({ body: { contains: 'data: [DONE]' } }).test(ctx)).toBe(true);
    expect(compileCondition({ body: { regex: '"type":\\s*"insufficient_quota"' } }).test(ctx)).toBe(true);
  });
});
