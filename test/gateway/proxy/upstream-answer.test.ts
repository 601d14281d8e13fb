// When retries are spent (or not allowed) the client gets the provider's own
// answer, scrubbed of keys, with keyrelay's headers; a pool that is out of
// quota says when the quota comes back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createToken, createUpstream, logRows, send } from './support.ts';

const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `sk-${prefix}-${String(i).padStart(24, '0')}`);
/** The provider's error body; `{key}` is the key it was sent, which must never reach the client. */
const PROVIDER_500 = 'status:500:{"error":{"message":"The server had an error processing your request (key {key})","type":"server_error"}}';

describe('the upstream answer when no retry follows', () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let token: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    // Jobs on: the quota-reset job is what brings an out-of-quota key back, so only then is a return time promised.
    t = await startTestGateway({ env: { KEYRELAY_JOBS: 'true' } });
    await t.gateway.jobs.idle();
    token = (await createToken(t)).token;
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  it('maxRetries 0: an upstream 500 reaches the client as that 500 with its body (key redacted) and keyrelay headers', async () => {
    const [key] = keys('pass0', 1);
    await createUpstream(t, mock, { name: 'pass0', maxRetries: 0 }, [{ value: key }]);
    mock.reset();
    const res = await send(t.url, { path: '/proxy/pass0/v1/models', headers: { ...bearer(token), 'x-mock': PROVIDER_500 } });
    expect(res.status).toBe(500);
    expect(mock.hits).toBe(1);
    expect(res.headers['content-type']).toContain('application/json');
    const body = JSON.parse(res.body);
    expect(body.error.type).toBe('server_error');
    expect(body.error.message).toContain('The server had an error processing your request');
    expect(res.body).not.toContain(key);
    expect(res.headers['x-request-id']).toMatch(/\S+/);
    expect(res.headers['x-keyrelay-attempts']).toBe('1');
    const [row] = await logRows(t, String(res.headers['x-request-id']));
    expect(row).toMatchObject({ outcome: 'upstream_error' });
    expect(Number(row.status)).toBe(500);
  });

  it('with retries: the last 500 after every retry is spent', async () => {
    const values = keys('pass3', 3);
    await createUpstream(t, mock, { name: 'pass3', maxRetries: 2 }, values.map((value) => ({ value })));
    mock.reset();
    const res = await send(t.url, { path: '/proxy/pass3/v1/models', headers: { ...bearer(token), 'x-mock': PROVIDER_500 } });
    expect(res.status).toBe(500);
    expect(mock.hits).toBe(3);
    expect(res.headers['x-keyrelay-attempts']).toBe('3');
    expect(JSON.parse(res.body).error.type).toBe('server_error');
    for (const value of values) expect(res.body).not.toContain(value);
  });

  it('a 503 with Retry-After passes through with its header', async () => {
    mock.reset();
    const res = await send(t.url, { path: '/proxy/pass0/x', headers: { ...bearer(token), 'x-mock': 'status:503:overloaded', 'x-mock-retry-after': '7' } });
    expect(res.status).toBe(503);
    expect(res.body).toBe('overloaded');
    expect(res.headers['retry-after']).toBe('7');
  });

  it('a connect error still gets keyrelay’s own 502', async () => {
    await createUpstream(t, 'http://127.0.0.1:1', { name: 'nowhere', maxRetries: 0 }, [{ value: keys('nowhere', 1)[0] }]);
    const res = await send(t.url, { path: '/proxy/nowhere/x', headers: bearer(token) });
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body).error.code).toBe('UPSTREAM_UNREACHABLE');
  });

  it('a pool entirely out of quota: 503 with Retry-After and retry_at at the next quota reset', async () => {
    const values = keys('spent', 2);
    await createUpstream(t, mock, { name: 'spent', quotaResetCron: '0 * * * *', quotaResetTimezone: 'UTC' }, values.map((value) => ({ value, quota: 1 })));
    for (let i = 0; i < 2; i++) expect((await send(t.url, { path: '/proxy/spent/x', headers: bearer(token) })).status).toBe(200);
    const before = Date.now();
    const res = await send(t.url, { path: '/proxy/spent/x', headers: bearer(token) });
    const after = Date.now();
    expect(res.status).toBe(503);
    const body = JSON.parse(res.body);
    expect(body.error.code).toBe('NO_USABLE_KEY');
    expect(body.error.keys).toMatchObject({ total: 2, exhausted: 2 });
    // The next full hour (UTC), seen from either side of the request.
    const nextHour = (ms: number) => new Date(Math.floor(ms / 3_600_000) * 3_600_000 + 3_600_000).toISOString();
    expect([nextHour(before), nextHour(after)]).toContain(body.error.retry_at);
    const seconds = Number(res.headers['retry-after']);
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(Math.abs(Date.now() + seconds * 1000 - Date.parse(body.error.retry_at))).toBeLessThan(60_000);
  });
});
