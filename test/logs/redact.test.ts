import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED } from '../../src/logs/redact.ts';

const redactor = createRedactor();
const KEY = 'sk-canary-5f0c6a7e-91b2-4c1d-8e3f-2a4b6c8d0e1f';
const TOKEN = 'kr_client_token_x9Z+/=&?';

describe('redact', () => {
  it('replaces a given secret and its URL-encoded and base64 forms', () => {
    const text = [
      `upstream said: Incorrect API key provided: ${KEY}`,
      `token=${encodeURIComponent(TOKEN)}`,
      `raw ${TOKEN}`,
      `b64 ${Buffer.from(KEY).toString('base64')}`,
      `b64url ${Buffer.from(TOKEN).toString('base64url')}`,
    ].join('\n');
    const out = redactor.redact(text, [KEY, TOKEN]);
    for (const form of [KEY, TOKEN, encodeURIComponent(TOKEN), Buffer.from(KEY).toString('base64')]) {
      expect(out).not.toContain(form);
    }
    expect(out).toContain('upstream said: Incorrect API key provided: [REDACTED]');
  });

  it('catches a secret base64-encoded inside a larger value at any alignment', () => {
    const secret = 'plain-secret-value-1234';
    for (const user of ['u', 'us', 'use']) {
      const basic = Buffer.from(`${user}:${secret}`).toString('base64');
      const out = redactor.redact(`Authorization: Basic ${basic}`, [secret]);
      // Only the few characters that also encode a neighbouring byte may remain.
      const left = out.slice('Authorization: Basic '.length).replace(REDACTED, '').replace(/=+$/, '');
      expect(out).toContain(REDACTED);
      expect(left.length).toBeLessThanOrEqual(8);
    }
  });

  it('skips empty and short secrets', () => {
    expect(redactor.redact('abc and abcde stay', ['', 'abc', 'abcde'])).toBe('abc and abcde stay');
  });

  it('redacts Bearer tokens, sk-/sk-ant-/AIza keys and key query values without being told', () => {
    const cases: Array<[string, string]> = [
      ['authorization: Bearer eyJhbGciOi.J9x_y-z', `authorization: Bearer ${REDACTED}`],
      ['bearer abcd1234efgh', `bearer ${REDACTED}`],
      ['key sk-proj-Ab3dEfGh1jKlMnOpQrSt used', `key ${REDACTED} used`],
      ['"sk-ant-api03-AAAABBBBCCCCDDDD1234"', `"${REDACTED}"`],
      ['https://g.example/v1?key=AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrS', `https://g.example/v1?key=${REDACTED}`],
      ['x AIzaSyA1b2C3d4E5f6G7h8I9 y', `x ${REDACTED} y`],
      ['/v1/x?api_key=abc&token=t0k3n&model=m', `/v1/x?api_key=${REDACTED}&token=${REDACTED}&model=m`],
    ];
    for (const [input, expected] of cases) expect(redactor.redact(input, [])).toBe(expected);
  });

  it('leaves ordinary text alone', () => {
    const text = [
      'The bearer of bad news said: Bearer instruments are risky.',
      'Use the task-runner and the sk-loading-spinner-container class; skip short sk-123.',
      'monkey=banana, tokens=5, max_token=9, a key point, AIza is a prefix.',
      'ünïcödé ✓ stays 😀',
    ].join('\n');
    expect(redactor.redact(text, [KEY])).toBe(text);
  });

  it('stays linear on adversarial input', () => {
    const text = `${'sk-'.repeat(20_000)} ${'Bearer '.repeat(5_000)} ${'key='.repeat(10_000)}`;
    const started = performance.now();
    redactor.redact(text, [KEY, TOKEN]);
    // Quadratic work on this input would take minutes; the bound leaves room for a loaded machine.
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('redactUrl', () => {
  it('replaces only the values of secret query parameters', () => {
    expect(redactor.redactUrl('/v1beta/models/g:gen?key=AIzaXYZ&alt=sse')).toBe(`/v1beta/models/g:gen?key=${REDACTED}&alt=sse`);
    expect(redactor.redactUrl('/x?a=1&API_KEY=s&access_token=t&signature=u&token=v&b=2')).toBe(
      `/x?a=1&API_KEY=${REDACTED}&access_token=${REDACTED}&signature=${REDACTED}&token=${REDACTED}&b=2`,
    );
    expect(redactor.redactUrl('/x?%6Bey=secret#frag')).toBe(`/x?%6Bey=${REDACTED}#frag`);
  });

  it('returns the same string when nothing matches', () => {
    const url = '/v1/chat/completions?monkey=1&keys=2&key=';
    expect(redactor.redactUrl(url)).toBe(url);
    expect(redactor.redactUrl('/no/query')).toBe('/no/query');
  });
});
