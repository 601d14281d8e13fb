// The sandbox without a gateway: the request a script sees, what persists
// between runs and what a failed run resets, the read-only globals, and the
// redaction of secrets and the key from error messages.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScriptEngine, type ScriptEngine } from '../../src/scripts/engine.ts';
import type { HeaderScript } from '../../src/scripts/header-script.ts';
import { ScriptError } from '../../src/scripts/script-error.ts';
import { scriptRequestBase, scriptRequestJson } from '../../src/scripts/script-request.ts';

const KEY = { name: 'key\u0001one', fingerprint: 'sk-…abcd', secret: 'sk-live-0123456789abcdef' };
const base = (over: Partial<Parameters<typeof scriptRequestBase>[0]> = {}) =>
  scriptRequestBase({
    method: 'POST',
    upstreamPath: '/v1/chat?x=1&x=2&key=client-token&y=%00z',
    rawHeaders: ['Content-Type', 'application/json', 'Authorization', 'Bearer kr_client', 'X-Api-Key', 'kr_other', 'Cookie', 'a=b', 'Connection', 'keep-alive', 'X-Dup', 'a', 'x-dup', 'b'],
    body: Buffer.from('{"a":1}'),
    model: 'gpt\u0000evil',
    upstream: 'up',
    ...over,
  });

describe('header script sandbox', () => {
  let engine: ScriptEngine;
  const scripts: HeaderScript[] = [];
  const compile = (source: string, opts: { secrets?: Record<string, string>; canReadKey?: boolean } = {}) => {
    const script = engine.compile(source, { upstream: 'up', secrets: opts.secrets ?? {}, canReadKey: opts.canReadKey ?? false });
    scripts.push(script);
    return script;
  };
  const run = (script: HeaderScript, b = base()) => Object.fromEntries(script.run(scriptRequestJson(b, KEY, 2, 1_700_000_000_123, script.opts.canReadKey), KEY.secret));

  beforeAll(async () => {
    engine = await loadScriptEngine({ timeoutMs: 50 });
  });
  afterAll(() => scripts.forEach((s) => s.dispose()));

  it('sees the request: scalars, headers without credentials, query without the token, body hash; odd characters cannot shift fields', () => {
    // Header values are Latin-1 at most, so the JSON travels URI-encoded.
    const script = compile(`return { r: encodeURIComponent(JSON.stringify({ m: request.method, p: request.path, q: request.query, h: request.headers, b: request.bodySha256,
      model: request.model, u: request.upstream, k: request.keyName, f: request.keyFingerprint, a: request.attempt, n: request.now, key: 'key' in request })) };`);
    expect(JSON.parse(decodeURIComponent(run(script).r))).toEqual({
      m: 'POST', p: '/v1/chat', q: { x: ['1', '2'], y: '\u0000z' }, h: { 'content-type': 'application/json', 'x-dup': 'a, b' },
      b: createHash('sha256').update('{"a":1}').digest('hex'), model: 'gpt\uFFFDevil', u: 'up', k: 'key\uFFFDone', f: 'sk-…abcd', a: 2, n: 1_700_000_000_123, key: false,
    });
    const streamed = JSON.parse(decodeURIComponent(run(script, base({ body: 'stream', model: null, upstreamPath: '/v1' })).r));
    expect(streamed).toMatchObject({ b: '', model: null, q: {} });
  });

  it('serves headers and query to the run they belong to: a request kept for a later run has only what it read in its own', () => {
    const script = compile(`const kept = globalThis.kept; globalThis.kept = request;
if (request.attempt === 1) request.headers;
if (kept === undefined) return {};
let late = 'read';
try { kept.query; } catch (e) { late = e.message; }
return { h: JSON.stringify(kept.headers), q: late, now: JSON.stringify(request.query) };`);
    const runWith = (attempt: number, path: string) => Object.fromEntries(script.run(scriptRequestJson(base({ upstreamPath: path }), KEY, attempt, 0, false), null));
    expect(runWith(1, '/first?a=1')).toEqual({});
    expect(runWith(2, '/second?b=2')).toEqual({ h: JSON.stringify({ 'content-type': 'application/json', 'x-dup': 'a, b' }), q: 'request.query can only be read during its own run', now: '{"b":"2"}' });
  });

  it('refuses a name or value holding the field separator or NUL, which would shift or cut the fields', () => {
    for (const result of [`{ a: 'x\\u0001b', c: 'd' }`, `{ 'a\\u0001b': 'c' }`, `{ a: 'b', c: 'd\\u0000' }`, `{ a: 'b\\u0000c\\u0001d\\u0001' }`]) {
      expect(() => run(compile(`return ${result};`)), result).toThrow(/U\+0001, NUL or another character/);
    }
    expect(run(compile(`return { a: 'b', 'x-c': '' };`))).toEqual({ a: 'b', 'x-c': '' });
  });

  it('keeps state a script keeps on purpose, and a failed run resets the context', () => {
    const script = compile(`globalThis.n = (globalThis.n || 0) + 1; if (request.path === '/boom') throw new Error('boom'); return { n: String(n) };`);
    expect(run(script).n).toBe('1');
    expect(run(script).n).toBe('2');
    expect(() => run(script, base({ upstreamPath: '/boom' }))).toThrow(ScriptError);
    expect(run(script).n).toBe('1');
  });

  it('gives each run a request of its own: what a run does to its request or the request prototype does not reach the next', () => {
    const script = compile(`const seen = { x: String(request.x), tampered: String(Object.getPrototypeOf(request).y), headers: typeof request.headers };
request.x = 'set by an earlier run';
try { Object.getPrototypeOf(request).y = 'forged'; } catch (e) {}
try { Object.defineProperty(Object.getPrototypeOf(request), 'query', { get: () => 'forged' }); } catch (e) {}
return { ...seen, query: JSON.stringify(request.query) };`);
    for (let i = 0; i < 2; i++) expect(run(script)).toEqual({ x: 'undefined', tampered: 'undefined', headers: 'object', query: '{"x":["1","2"],"y":"\\u0000z"}' });
  });

  it('has read-only globals: env is frozen, helpers cannot be replaced, arguments are checked', () => {
    const script = compile(`try { hmacSha256Hex = () => 'forged'; } catch (e) {}
try { env.S = 'changed'; } catch (e) {}
return { frozen: String(Object.isFrozen(env)), s: env.S, h: hmacSha256Hex(env.S, 'm') };`, { secrets: { S: 'secret-value-1' } });
    run(script);
    const second = run(script);
    expect(second).toEqual({ frozen: 'true', s: 'secret-value-1', h: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const bad = compile(`return { h: hmacSha256Hex(undefined, 'm') };`);
    expect(() => run(bad)).toThrow(/hmacSha256Hex: key must be a string/);
    const misuses = {
      [`hmacSha256Base64('k', 5)`]: /hmacSha256Base64: message must be a string/,
      [`sha256Hex('x'.repeat(262145))`]: /sha256Hex: message is longer than 262144 characters/,
      [`hmacSha256Hex('k'.repeat(262145), 'm')`]: /hmacSha256Hex: key is longer than 262144 characters/,
    };
    for (const [call, message] of Object.entries(misuses)) expect(() => run(compile(`return { h: ${call} };`)), call).toThrow(message);
    expect(run(compile(`return { h: sha256Hex('x'.repeat(262144)), u: randomUUID() };`))).toEqual({ h: expect.stringMatching(/^[0-9a-f]{64}$/), u: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  it('stops a loop at the time limit and runs again after; redacts secrets and the key from messages', () => {
    const loop = compile(`if (request.attempt === 2) { for (;;) {} } return {};`);
    const started = performance.now();
    expect(() => run(loop)).toThrow(/time limit/);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(loop.run(scriptRequestJson(base(), KEY, 1, 0, false), null).size).toBe(0);
    const leaky = compile(`throw new Error(env.S + ' ' + request.key);`, { secrets: { S: 'secret-value-2' }, canReadKey: true });
    try {
      run(leaky);
      expect.unreachable();
    } catch (error) {
      expect((error as ScriptError).message).toBe('Error: [REDACTED] [REDACTED]');
      expect((error as ScriptError).line).toBe(1);
    }
  });

  it('stops what checks the clock rarely: catastrophic regex backtracking, and host helpers called in a catching loop', () => {
    for (const source of [
      `/(a+)+$/.test('a'.repeat(40) + 'b'); return {};`,
      `const big = 'x'.repeat(200000); for (;;) { try { sha256Hex(big); } catch (e) {} }`,
    ]) {
      const script = compile(source);
      const started = performance.now();
      expect(() => run(script), source).toThrow(/time limit/);
      // The limit is 50 ms here; the hard cap is ten times that.
      expect(performance.now() - started, source).toBeLessThan(1500);
    }
    expect(() => run(compile(`return { h: sha256Hex('x'.repeat(300000)) };`))).toThrow(/longer than 262144/);
  });

  it('a script disposed while a request still holds it runs on a throwaway context', () => {
    const script = compile(`return { ok: 'yes' };`);
    script.dispose();
    expect(run(script)).toEqual({ ok: 'yes' });
  });
});
