// An upstream that echoes the injected key in its response headers:
// whatever the status and the auth type, the
// client never gets the key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { canaryKey, createToken, createUpstream, send } from './support.ts';
import { credentialOf, startHostileUpstream, type HostileUpstream } from './hostile-upstream.ts';

const AUTH_TYPES = [
  { type: 'BEARER' as const },
  { type: 'HEADER' as const, name: 'x-goog-api-key' },
  { type: 'QUERY' as const, name: 'key' },
];

describe('credentials echoed in response headers', () => {
  let t: TestGateway;
  let upstream: HostileUpstream;
  let token: string;
  const keys = new Map<string, string>();

  beforeAll(async () => {
    upstream = await startHostileUpstream((req) => {
      const key = credentialOf(req);
      const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
      return {
        status,
        headers: {
          'content-type': 'application/json',
          'x-echo-auth': key,
          'www-authenticate': `Bearer error="invalid_token", error_description="${key}"`,
          location: `https://example.test/again?key=${encodeURIComponent(key)}`,
          'x-echo-b64': Buffer.from(key).toString('base64'),
          'set-cookie': ['session=abc; Path=/', `k=${key}`],
        },
        body: JSON.stringify({ ok: status < 400 }),
      };
    });
    t = await startTestGateway();
    for (const auth of AUTH_TYPES) {
      const key = canaryKey();
      keys.set(auth.type, key);
      await createUpstream(t, upstream.url, { name: `echo-${auth.type.toLowerCase()}`, auth, retryOnStatus: [] }, [{ value: key }]);
    }
    token = (await createToken(t)).token;
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  for (const auth of AUTH_TYPES) {
    for (const status of [200, 400, 401, 429]) {
      it(`${auth.type} auth, status ${status}: no header carries the key`, async () => {
        const key = keys.get(auth.type)!;
        const res = await send(t.url, { path: `/proxy/echo-${auth.type.toLowerCase()}/x?status=${status}`, headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(status === 429 ? 429 : status);
        const head = JSON.stringify(res.headers);
        for (const form of [key, encodeURIComponent(key), Buffer.from(key).toString('base64'), key.slice(10)]) expect(head).not.toContain(form);
        expect(head).not.toContain(token);
        expect(res.headers['x-echo-auth']).toBe('[REDACTED]');
        // Headers without a secret pass untouched.
        expect(res.headers['set-cookie']).toContain('session=abc; Path=/');
      });
    }
  }
});
