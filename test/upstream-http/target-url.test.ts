import { describe, expect, it } from 'vitest';
import { appendQueryParam, BadPathError, buildUpstreamPath, readQueryParam } from '../../src/upstream-http/target-url.ts';

const build = (clientPath: string, search = '', base = '/v1') => buildUpstreamPath(base, clientPath, search, ['key']);

describe('buildUpstreamPath rejects traversal', () => {
  it.each([
    ['/..', 'dot segment'],
    ['/a/../b', 'dot segment'],
    ['/a/./b', 'dot segment'],
    ['..', 'dot segment'],
    ['/%2e%2e/x', 'dot segment'],
    ['/%2E%2e/', 'dot segment'],
    ['/.%2E/x', 'dot segment'],
    ['/%2e/x', 'dot segment'],
    ['/..;jsessionid=1/x', 'dot segment'],
    ['/..%2fetc', 'encoded slash'],
    ['/a%2Fb', 'encoded slash'],
    ['/a%5cb', 'encoded slash'],
    ['/a\\b', 'backslash'],
    ['/a%00b', 'control character'],
    ['/a%0d%0aX-Evil:%201', 'control character'],
    ['/a\tb', 'control character'],
    ['/a b', 'control character'],
    ['/a%7F', 'control character'],
    ['/a%zz', 'invalid percent escape'],
    ['/a%2', 'invalid percent escape'],
    ['/a%', 'invalid percent escape'],
    ['/caf\u00e9', 'non-ASCII character'],
    ['/a?b', 'unexpected character'],
    ['/a#b', 'unexpected character'],
  ])('%j -> %s', (path, reason) => {
    let caught: unknown;
    try {
      build(path);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BadPathError);
    expect((caught as BadPathError).code).toBe('BAD_PATH');
    expect((caught as BadPathError).reason).toBe(reason);
  });

  it('rejects raw control characters in the query', () => {
    expect(() => build('/x', '?a=\r\n')).toThrow(BadPathError);
  });
});

describe('buildUpstreamPath joins under the base path', () => {
  it.each([
    ['/v1', '/chat/completions', '', '/v1/chat/completions'],
    ['/v1/', '/chat', '', '/v1/chat'],
    ['/', '/chat', '', '/chat'],
    ['', 'chat', '', '/chat'],
    ['/v1', '', '', '/v1'],
    ['/', '', '', '/'],
    ['/v1', '/', '', '/v1/'],
    ['/v1', '/models/', '', '/v1/models/'],
    ['/v1', '//evil.com/x', '', '/v1/evil.com/x'],
    ['/', '//evil.com/x', '', '/evil.com/x'],
    ['/v1', '/a//b///c//', '', '/v1/a/b/c/'],
    ['/v1', '/http://evil.com/x', '', '/v1/http:/evil.com/x'],
    ['/v1', '/https:%2F%2Fevil', '', 'throws'],
    ['/v1', '/...', '', '/v1/...'],
    ['/v1', '/.well-known/x', '', '/v1/.well-known/x'],
    ['/v1', '/a%20b/%41', '', '/v1/a%20b/%41'],
    ['/v1', '/models/gemini-pro:generateContent', '?alt=sse', '/v1/models/gemini-pro:generateContent?alt=sse'],
  ])('%j + %j%j -> %j', (base, path, search, expected) => {
    if (expected === 'throws') {
      expect(() => buildUpstreamPath(base, path, search, ['key'])).toThrow(BadPathError);
      return;
    }
    const out = buildUpstreamPath(base, path, search, ['key']);
    expect(out).toBe(expected);
    // Whatever the client sent, the result is origin-form: the host cannot change.
    expect(out.startsWith('/')).toBe(true);
    expect(out.startsWith('//')).toBe(false);
  });
});

describe('buildUpstreamPath query stripping', () => {
  it.each([
    ['?a=1&b=2', '?a=1&b=2'],
    ['?key=secret', ''],
    ['?key=secret&alt=sse', '?alt=sse'],
    ['?alt=sse&key=secret', '?alt=sse'],
    ['?a=1&key=s&b=%20x&key=t&c', '?a=1&b=%20x&c'],
    ['?keyx=1&xkey=2&key', '?keyx=1&xkey=2'],
    ['?KEY=s&k%65y=s&ke%79=s&q=1', '?q=1'],
    ['?a=%zz&b=c+d', '?a=%zz&b=c+d'],
    ['?', '?'],
    ['', ''],
  ])('%j -> %j', (search, expectedQuery) => {
    expect(build('/x', search)).toBe('/v1/x' + expectedQuery);
  });

  it('returns the same string when nothing is stripped', () => {
    const search = '?a=1&b=2';
    expect(buildUpstreamPath('/', '/', search, [])).toBe('/' + search);
  });

  it('strips several names', () => {
    expect(buildUpstreamPath('/', '/x', '?api_key=1&key=2&k=3', ['key', 'api_key'])).toBe('/x?k=3');
  });
});

describe('readQueryParam / appendQueryParam', () => {
  it('reads and decodes the first match', () => {
    expect(readQueryParam('?a=1&key=a%2Bb+c&key=2', 'key')).toBe('a+b c');
    expect(readQueryParam('key=x', 'key')).toBe('x');
    expect(readQueryParam('?keyx=1', 'key')).toBeNull();
    expect(readQueryParam('?key', 'key')).toBe('');
  });

  it('appends an encoded parameter', () => {
    expect(appendQueryParam('/v1/x', 'key', 'a b&c')).toBe('/v1/x?key=a%20b%26c');
    expect(appendQueryParam('/v1/x?alt=sse', 'key', 'k')).toBe('/v1/x?alt=sse&key=k');
    expect(appendQueryParam('/v1/x?', 'key', 'k')).toBe('/v1/x?key=k');
  });
});
