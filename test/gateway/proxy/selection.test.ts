// Key selection through the whole gateway: round robin, weighted by weight
// and remaining quota, and the 503 that says why no key is usable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createToken, createUpstream, logRows, send } from './support.ts';

const ProxySetKeyStatus = graphql(`
  mutation ProxySetKeyStatus($id: ID!, $status: KeyStatus!, $until: DateTime) { setKeyStatus(id: $id, status: $status, until: $until) { id status } }
`);

const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `sk-${prefix}-${String(i).padStart(24, '0')}`);

async function hitMany(t: TestGateway, name: string, token: string, n: number, concurrency = 10): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, n - i) }, () => send(t.url, { path: `/proxy/${name}/x`, headers: bearer(token) }));
    for (const res of await Promise.all(batch)) statuses.push(res.status);
  }
  return statuses;
}

describe('key selection', () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let token: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway();
    token = (await createToken(t)).token;
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  it('round robin: 30 requests over 3 keys give 10 each', async () => {
    const values = keys('rr', 3);
    await createUpstream(t, mock, { name: 'rr', strategy: 'ROUND_ROBIN' }, values.map((value) => ({ value })));
    mock.reset();
    const statuses = await hitMany(t, 'rr', token, 30, 1);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(values.map((v) => mock.hitsByKey[v])).toEqual([10, 10, 10]);
  });

  it('round robin while a rule takes keys out and the admin brings them back: the same order, each key once a pass, retries only on untried keys', async () => {
    const values = keys('churn', 8);
    const up = await createUpstream(t, mock, { name: 'churn', strategy: 'ROUND_ROBIN', maxEjectionPercent: 100, maxRetries: 5 }, values.map((value) => ({ value })));
    await t.gateway.services.rules.create({ upstreamId: up.id, name: 'rest on 429', condition: { status: { equals: 429 } }, actions: ['DISABLE_KEY'], disableForSeconds: 600 });
    const requests = async (n: number) => {
      mock.reset();
      const attempts: number[] = [];
      for (let i = 0; i < n; i++) {
        const res = await send(t.url, { path: '/proxy/churn/x', headers: bearer(token) });
        expect(res.status).toBe(200);
        attempts.push(Number(res.headers['x-keyrelay-attempts']));
      }
      return { seen: [...mock.keysSeen], attempts };
    };
    // The first pass shows the pool's order.
    const order = (await requests(8)).seen;
    expect([...order].sort()).toEqual([...values].sort());
    const [k0, k1, k2, k3, k4, k5, k6, k7] = order as [string, string, string, string, string, string, string, string];

    for (const bad of [k1, k2, k3]) mock.byKey[bad] = 'status:429';
    // Three bad keys in a row: one request meets each once, then a good one; no key twice.
    const meeting = await requests(2);
    expect(meeting.seen).toEqual([k0, k1, k2, k3, k4]);
    expect(meeting.attempts).toEqual([1, 4]);
    // The pass goes on where it was: the keys after k4 before k0 comes again.
    expect((await requests(5)).seen).toEqual([k5, k6, k7, k0, k4]);

    // k2 comes back at its place, which this pass has gone by: served in the next pass.
    delete mock.byKey[k2];
    await gqlOk(t.url, ProxySetKeyStatus, { id: up.keyIds[k2]!, status: 'ACTIVE' });
    expect((await requests(6)).seen).toEqual([k5, k6, k7, k0, k2, k4]);
    // k1 comes back at a place still ahead in this pass: served in it.
    expect((await requests(2)).seen).toEqual([k5, k6]);
    delete mock.byKey[k1];
    await gqlOk(t.url, ProxySetKeyStatus, { id: up.keyIds[k1]!, status: 'ACTIVE' });
    expect((await requests(7)).seen).toEqual([k7, k0, k1, k2, k4, k5, k6]);
  });

  it('weighted: follows the weights, and a key with less quota left gets less', async () => {
    const values = keys('w', 3);
    const up = await createUpstream(t, mock, { name: 'weighted', strategy: 'WEIGHTED' }, [
      { value: values[0], weight: 1 },
      { value: values[1], weight: 3 },
      // weight 4 but only a quarter of its quota left after the warm-up below: effective weight about 1
      { value: values[2], weight: 4, quota: 4000 },
    ]);
    // Stands in for 3,000 earlier requests on the third key.
    const third = t.gateway.state.keys.get(up.keyIds[values[2]])!;
    third.used = 3000;
    t.gateway.state.upstreamsByName.get('weighted')!.pool.refresh(third.id);
    mock.reset();
    const n = 600;
    const statuses = await hitMany(t, 'weighted', token, n, 20);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const share = values.map((v) => (mock.hitsByKey[v] ?? 0) / n);
    // Expected shares 1/5, 3/5, 1/5 (weights 1, 3, 4 x 1/4); loose bounds keep this deterministic enough.
    expect(share[1]).toBeGreaterThan(0.5);
    expect(share[1]).toBeLessThan(0.7);
    expect(share[0]).toBeGreaterThan(0.12);
    expect(share[0]).toBeLessThan(0.28);
    expect(share[2]).toBeGreaterThan(0.12);
    expect(share[2]).toBeLessThan(0.28);
  });

  it('no usable key: 503 JSON saying why, with Retry-After when a key returns at a known time', async () => {
    const [a, b] = keys('none', 2);
    const up = await createUpstream(t, mock, { name: 'none' }, [{ value: a }, { value: b }]);
    const until = new Date(Date.now() + 90_000).toISOString();
    await gqlOk(t.url, ProxySetKeyStatus, { id: up.keyIds[a], status: 'DISABLED', until });
    await gqlOk(t.url, ProxySetKeyStatus, { id: up.keyIds[b], status: 'BANNED' });
    mock.reset();
    const res = await send(t.url, { path: '/proxy/none/x', headers: bearer(token) });
    expect(res.status).toBe(503);
    expect(mock.hits).toBe(0);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(80);
    expect(retryAfter).toBeLessThanOrEqual(90);
    const body = JSON.parse(res.body);
    expect(body.error.code).toBe('NO_USABLE_KEY');
    expect(body.error.message).toContain('1 disabled');
    expect(body.error.message).toContain('1 banned');
    expect(body.error.keys).toMatchObject({ total: 2, disabled: 1, banned: 1 });
    const [row] = await logRows(t, String(res.headers['x-request-id']));
    expect(row).toMatchObject({ outcome: 'no_key' });
    expect(Number(row.status)).toBe(503);
  });

  it('waitForKeyMs: a request that finds every key cooling waits for the first to come back', async () => {
    const [a] = keys('wait', 1);
    const up = await createUpstream(t, mock, { name: 'wait', waitForKeyMs: 3000 }, [{ value: a }]);
    await gqlOk(t.url, ProxySetKeyStatus, { id: up.keyIds[a], status: 'DISABLED', until: new Date(Date.now() + 400).toISOString() });
    const res = await send(t.url, { path: '/proxy/wait/x', headers: bearer(token) });
    expect(res.status).toBe(200);
    expect(mock.hitsByKey[a]).toBe(1);
  });
});
