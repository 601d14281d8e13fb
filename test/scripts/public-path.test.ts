// The sandbox takes a fast path into quickjs-emscripten-core's internals when
// they are as expected, and the library's public path otherwise (another
// version). Both must give the same headers and the same errors.
import { createHmac } from 'node:crypto';
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
});
