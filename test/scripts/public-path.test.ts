// The sandbox takes a fast path into quickjs-emscripten-core's internals when
// they are as expected, and the library's public path otherwise (another
// version). Both must give the same headers and the same errors.
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScriptEngine, type ScriptEngine } from '../../src/scripts/engine.ts';
import { allowFastPath } from '../../src/scripts/fast-host-call.ts';
import type { HeaderScript } from '../../src/scripts/header-script.ts';
import { ScriptError } from '../../src/scripts/script-error.ts';
import { scriptRequestBase, scriptRequestJson } from '../../src/scripts/script-request.ts';

const KEY = { name: 'k', fingerprint: 'sk-…abcd', secret: 'sk-live-0123456789abcdef' };
const SIGN = `const ts = String(Math.floor(request.now / 1000));
return { 'x-timestamp': ts, 'x-signature': hmacSha256Hex(env.SIGNING_SECRET, request.method + request.path + ts + request.bodySha256), 'x-h': request.headers['content-type'] };`;
const request = () =>
  scriptRequestJson(
    scriptRequestBase({ method: 'POST', upstreamPath: '/v1/chat?a=1', rawHeaders: ['Content-Type', 'application/json'], body: Buffer.from('{}'), model: null, upstream: 'up' }),
    KEY,
    1,
    1_700_000_000_123,
    false,
  );

describe.each([true, false])('header scripts with the fast path %s', (fast) => {
  let engine: ScriptEngine;
  const scripts: HeaderScript[] = [];
  const compile = (source: string) => {
    const script = engine.compile(source, { upstream: 'up', secrets: { SIGNING_SECRET: 'whsec-test' }, canReadKey: false });
    scripts.push(script);
    return script;
  };
  beforeAll(async () => {
    allowFastPath(fast);
    engine = await loadScriptEngine({ timeoutMs: 50 });
  });
  afterAll(() => {
    scripts.forEach((s) => s.dispose());
    allowFastPath(true);
  });

  it('signs as the host would, reads headers, and reports a helper misuse and a throw as script errors', () => {
    const script = compile(SIGN);
    const bodySha = '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
    const expected = createHmac('sha256', 'whsec-test').update(`POST/v1/chat1700000000${bodySha}`).digest('hex');
    expect(Object.fromEntries(script.run(request(), KEY.secret))).toEqual({ 'x-timestamp': '1700000000', 'x-signature': expected, 'x-h': 'application/json' });
    // Twice: a run leaves nothing behind that changes the next.
    expect(Object.fromEntries(script.run(request(), KEY.secret))['x-signature']).toBe(expected);
    expect(() => compile(`return { h: hmacSha256Hex(undefined, 'm') };`).run(request(), null)).toThrow(/hmacSha256Hex: key must be a string/);
    expect(() => compile(`throw new Error('nope')`).run(request(), null)).toThrow(ScriptError);
    expect(Object.fromEntries(script.run(request(), KEY.secret))['x-signature']).toBe(expected);
  });

  it('crosses any text both ways as UTF-8, also after the Wasm heap has grown', () => {
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    const text = 'h\u00e9llo \u20ac \u{1F600} \u4e2d';
    // A lone surrogate has no UTF-8 form: QuickJS hands out its CESU-8 bytes, which decode to U+FFFD on either path.
    const lone = Buffer.from([0xed, 0xa0, 0x80]).toString('utf8');
    // Each script's runtime holds about 6 MiB on its second run: together they outgrow the module's
    // first 16 MiB, and the memory that replaces it must be the one strings are read from and written to.
    const source = `globalThis.big ??= [];
if (request.attempt === 2) for (let i = 0; i < 96; i++) globalThis.big.push('x'.repeat(65536) + i);
return { a: sha256Hex(${JSON.stringify(text)}), b: sha256Hex('\\ud800'), c: encodeURIComponent(request.keyFingerprint) };`;
    const pair = [compile(source), compile(source)];
    const heapBytes = () => {
      const runtime = engine.module.newRuntime();
      const context = runtime.newContext();
      const bytes = (context as unknown as { memory: { module: { HEAPU8: Uint8Array } } }).memory.module.HEAPU8.byteLength;
      context.dispose();
      runtime.dispose();
      return bytes;
    };
    const before = heapBytes();
    for (const attempt of [1, 2, 3]) {
      for (const script of pair) {
        const packed = scriptRequestJson(scriptRequestBase({ method: 'GET', upstreamPath: '/', rawHeaders: [], body: null, model: null, upstream: 'up' }), KEY, attempt, 0, false);
        expect(Object.fromEntries(script.run(packed, null))).toEqual({ a: sha(text), b: sha(lone), c: encodeURIComponent(KEY.fingerprint) });
      }
    }
    // The fast path runs first (describe.each order) and grows the heap; the public path then finds it grown.
    if (fast) expect(heapBytes()).toBeGreaterThan(before);
  });
});
