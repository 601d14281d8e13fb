// Rate limits through a whole gateway and the mock upstream (SQLite): client
// limits answer 429 RATE_LIMITED before any key is touched, keys at their own
// limit (or the provider's) are skipped, and every key at its limit is a 429.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createToken, createUpstream, logRows, send } from '../proxy/support.ts';
import type { CreateRateLimitInput } from '../../generated/graphql.ts';
import { CreateRateLimit, KeyProviderLimits } from './support.ts';

const TurnOff = graphql(`mutation RlTurnOffProvider($id: ID!) { updateUpstream(id: $id, input: { respectProviderLimits: false }) { id } }`);

const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `sk-${prefix}-${String(i).padStart(24, '0')}`);

describe('rate limits through the proxy', () => {
  let t: TestGateway;
  let mock: MockUpstream;

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  const limit = (input: CreateRateLimitInput) => gqlOk(t.url, CreateRateLimit, { input }).then((r) => r.createRateLimit);

  it('a token limited to 5 requests per second: 20 at once give 5 × 200 and 15 × 429, and the upstream sees 5', async () => {
    const up = await createUpstream(t, mock, { name: 'rps' }, keys('rps', 2).map((value) => ({ value })));
    const token = await createToken(t);
    const created = await limit({ scope: 'ACCESS_TOKEN', targetId: token.id, requests: 5, perSeconds: 1 });
    mock.reset();
    const sentAt = Date.now();
    const responses = await Promise.all(Array.from({ length: 20 }, () => send(t.url, { path: '/proxy/rps/v1/models', headers: bearer(token.token) })));
    const elapsed = Date.now() - sentAt;
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(ok.length + limited.length).toBe(20);
    expect(mock.hits).toBe(ok.length);
    // Exact when the burst fits in the window; a machine so loaded that it took
    // longer may rightly admit 5 more per second that passed, never more.
    if (elapsed < 1000) expect(ok).toHaveLength(5);
    else expect(ok.length).toBeLessThanOrEqual(5 * Math.ceil(elapsed / 1000));
    expect(ok.length).toBeGreaterThanOrEqual(5);
    for (const r of ok) {
      expect(r.headers['x-ratelimit-limit']).toBe('5');
      expect(Number(r.headers['x-ratelimit-remaining'])).toBeGreaterThanOrEqual(0);
      expect(Number(r.headers['x-ratelimit-reset'])).toBeGreaterThanOrEqual(0);
    }
    for (const r of limited) {
      const body = JSON.parse(r.body) as { error: { code: string; message: string; limit: { id: string; scope: string; kind: string } } };
      expect(body.error.code).toBe('RATE_LIMITED');
      expect(body.error.limit).toMatchObject({ id: created.id, scope: 'ACCESS_TOKEN', kind: 'requests' });
      expect(body.error.message).toContain('5 requests per 1 s');
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(1);
      expect(r.headers['x-ratelimit-limit']).toBe('5');
      expect(r.headers['x-ratelimit-remaining']).toBe('0');
      expect(Number(r.headers['x-ratelimit-reset'])).toBeGreaterThanOrEqual(1);
    }
    // Refused requests never touched a key: no quota, no key on the log row.
    const rows = (await logRows(t)).filter((row) => row.upstreamId === up.id);
    expect(rows.filter((row) => row.outcome === 'rate_limited')).toHaveLength(limited.length);
    expect(rows.filter((row) => row.outcome === 'rate_limited').every((row) => row.keyId === null && Number(row.attempts) === 0 && Number(row.status) === 429)).toBe(true);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain(`keyrelay_rate_limited_total{scope="ACCESS_TOKEN"} ${limited.length}\n`);
  });

  it('concurrent: 2 with a slow upstream: the third gets 429 at once, and after one finishes the next is served', async () => {
    await createUpstream(t, mock, { name: 'conc' }, keys('conc', 2).map((value) => ({ value })));
    const token = await createToken(t);
    await limit({ scope: 'ACCESS_TOKEN', targetId: token.id, concurrent: 2 });
    mock.reset();
    const arrived = new Promise<void>((resolve) => {
      const onRequest = () => mock.hits >= 2 && (mock.off('request', onRequest), resolve());
      mock.on('request', onRequest);
    });
    const slow = { ...bearer(token.token), 'x-mock': 'slow:4000' };
    let finished = 0;
    const first = send(t.url, { path: '/proxy/conc/a', headers: slow }).finally(() => finished++);
    const second = send(t.url, { path: '/proxy/conc/b', headers: slow }).finally(() => finished++);
    await arrived;
    const third = await send(t.url, { path: '/proxy/conc/c', headers: bearer(token.token) });
    expect(third.status).toBe(429);
    // At once: answered while both slow requests were still running.
    expect(finished).toBe(0);
    expect(JSON.parse(third.body).error.limit.kind).toBe('concurrent');
    expect(mock.hits).toBe(2);
    expect((await first).status).toBe(200);
    const next = await send(t.url, { path: '/proxy/conc/d', headers: bearer(token.token) });
    expect(next.status).toBe(200);
    expect((await second).status).toBe(200);
  });

  it('tokensPerMinute: 100 with responses of 40 tokens: the fourth request within the minute gets 429', async () => {
    await createUpstream(t, mock, { name: 'tpm' }, keys('tpm', 1).map((value) => ({ value })));
    const token = await createToken(t);
    await limit({ scope: 'ACCESS_TOKEN', targetId: token.id, tokensPerMinute: 100 });
    const headers = { ...bearer(token.token), 'x-mock': 'usage:40' };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(t.url, { path: '/proxy/tpm/v1/x', headers })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('an upstream limit applies to every client of the upstream', async () => {
    const up = await createUpstream(t, mock, { name: 'uplim' }, keys('uplim', 1).map((value) => ({ value })));
    await limit({ scope: 'UPSTREAM', targetId: up.id, requests: 2, perSeconds: 60 });
    const [a, b] = [await createToken(t), await createToken(t)];
    const statuses = [];
    for (const tok of [a, b, a, b]) statuses.push((await send(t.url, { path: '/proxy/uplim/x', headers: bearer(tok.token) })).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
  });

  it('a key limited to 1 request per 60 s in a pool of three: 3 requests are all 200 and the mock saw that key at most once', async () => {
    const values = keys('keylim', 3);
    const up = await createUpstream(t, mock, { name: 'keylim', strategy: 'RANDOM' }, values.map((value) => ({ value })));
    const token = await createToken(t);
    await limit({ scope: 'KEY', targetId: up.keyIds[values[0]], requests: 1, perSeconds: 60 });
    mock.reset();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(t.url, { path: '/proxy/keylim/x', headers: bearer(token.token) })).status);
    expect(statuses).toEqual([200, 200, 200]);
    expect(mock.hitsByKey[values[0]] ?? 0).toBeLessThanOrEqual(1);
    // Skipped, not a state change.
    expect(t.gateway.state.keys.get(up.keyIds[values[0]])!.status).toBe('ACTIVE');
    // Many more: the limited key still never serves a second time within the minute.
    for (let i = 0; i < 12; i++) expect((await send(t.url, { path: '/proxy/keylim/x', headers: bearer(token.token) })).status).toBe(200);
    expect(mock.hitsByKey[values[0]] ?? 0).toBeLessThanOrEqual(1);
  });

  it('every key at its limit: 429 RATE_LIMITED with the earliest time a key has room', async () => {
    const values = keys('allkeys', 2);
    const up = await createUpstream(t, mock, { name: 'allkeys' }, values.map((value) => ({ value })));
    const token = await createToken(t);
    await limit({ scope: 'KEY', targetId: up.keyIds[values[0]], requests: 1, perSeconds: 60 });
    await limit({ scope: 'KEY', targetId: up.keyIds[values[1]], requests: 1, perSeconds: 30 });
    mock.reset();
    expect((await send(t.url, { path: '/proxy/allkeys/x', headers: bearer(token.token) })).status).toBe(200);
    expect((await send(t.url, { path: '/proxy/allkeys/x', headers: bearer(token.token) })).status).toBe(200);
    const refused = await send(t.url, { path: '/proxy/allkeys/x', headers: bearer(token.token) });
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).error).toMatchObject({ code: 'RATE_LIMITED', limit: { scope: 'KEY' } });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(28);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(mock.hits).toBe(2);
    const rows = await logRows(t);
    expect(rows.at(-1)!.outcome).toBe('rate_limited');
    expect(Number(rows.at(-1)!.status)).toBe(429);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/keyrelay_rate_limited_total\{scope="KEY"\} 1\b/);
  });

  it('every key at its limit with waitForKeyMs: the request waits for a key to have room', async () => {
    const values = keys('waitkey', 1);
    const up = await createUpstream(t, mock, { name: 'waitkey', waitForKeyMs: 10_000 }, values.map((value) => ({ value })));
    const token = await createToken(t);
    await limit({ scope: 'KEY', targetId: up.keyIds[values[0]], requests: 1, perSeconds: 1 });
    expect((await send(t.url, { path: '/proxy/waitkey/x', headers: bearer(token.token) })).status).toBe(200);
    const second = await send(t.url, { path: '/proxy/waitkey/x', headers: bearer(token.token) });
    expect(second.status).toBe(200);
  });

  it('provider-reported limits: a key whose remaining requests reached zero is skipped until its reset, and no 429 happens', async () => {
    const values = keys('prov', 3);
    const [a] = values;
    const up = await createUpstream(t, mock, { name: 'prov', respectProviderLimits: true }, values.map((value) => ({ value })));
    const token = await createToken(t);
    mock.reset();
    mock.headersByKey[a] = { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '2s', 'x-ratelimit-remaining-tokens': '9000' };
    const statuses: number[] = [];
    const get = async () => {
      const res = await send(t.url, { path: '/proxy/prov/x', headers: bearer(token.token) });
      statuses.push(res.status);
      return res;
    };
    while ((mock.hitsByKey[a] ?? 0) === 0) await get();
    const seenAt = mock.keysSeen.length;
    const state = await gqlOk(t.url, KeyProviderLimits, { id: up.keyIds[a] });
    const reported = state.key!.providerLimits!;
    expect(reported.remainingRequests).toBe(0);
    expect(reported.remainingTokens).toBe(9000);
    const resetsAt = Date.parse(String(reported.resetsAt));
    expect(resetsAt - Date.now()).toBeGreaterThan(0);
    expect(resetsAt - Date.now()).toBeLessThanOrEqual(2100);
    // Until the reset, the other keys serve: every request sent and answered before it skipped A.
    const before: string[] = [];
    for (let i = 0; i < 6; i++) {
      await get();
      if (Date.now() < resetsAt) before.push(mock.keysSeen.at(-1)!);
    }
    expect(before.length).toBeGreaterThan(0);
    expect(before).not.toContain(a);
    expect(mock.keysSeen.slice(seenAt).length).toBe(6);
    // After the reset A serves again (the provider now reports room).
    mock.headersByKey[a] = { 'x-ratelimit-remaining-requests': '50', 'x-ratelimit-reset-requests': '6m0s' };
    await new Promise((r) => setTimeout(r, Math.max(0, resetsAt - Date.now() + 20)));
    const hitsBefore = mock.hitsByKey[a];
    for (let i = 0; i < 6; i++) await get();
    expect(mock.hitsByKey[a]).toBeGreaterThan(hitsBefore);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(t.gateway.state.keys.get(up.keyIds[a])!.status).toBe('ACTIVE');
    const after = await gqlOk(t.url, KeyProviderLimits, { id: up.keyIds[a] });
    expect(after.key!.providerLimits!.remainingRequests).toBe(50);
  });

  it('without respectProviderLimits the same headers change nothing', async () => {
    const values = keys('noprov', 2);
    const up = await createUpstream(t, mock, { name: 'noprov', strategy: 'ROUND_ROBIN' }, values.map((value) => ({ value })));
    const token = await createToken(t);
    mock.reset();
    mock.headersByKey[values[0]] = { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '30s' };
    for (let i = 0; i < 4; i++) expect((await send(t.url, { path: '/proxy/noprov/x', headers: bearer(token.token) })).status).toBe(200);
    expect(mock.hitsByKey[values[0]]).toBe(2);
    expect((await gqlOk(t.url, KeyProviderLimits, { id: up.keyIds[values[0]] })).key!.providerLimits).toBeNull();
  });

  it('turning respectProviderLimits off lets a held-back key serve again at once', async () => {
    const values = keys('provoff', 2);
    const [a] = values;
    const up = await createUpstream(t, mock, { name: 'provoff', strategy: 'ROUND_ROBIN', respectProviderLimits: true }, values.map((value) => ({ value })));
    const token = await createToken(t);
    mock.reset();
    mock.headersByKey[a] = { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '10m0s' };
    while ((mock.hitsByKey[a] ?? 0) === 0) await send(t.url, { path: '/proxy/provoff/x', headers: bearer(token.token) });
    for (let i = 0; i < 3; i++) await send(t.url, { path: '/proxy/provoff/x', headers: bearer(token.token) });
    expect(mock.hitsByKey[a]).toBe(1);
    await gqlOk(t.url, TurnOff, { id: up.id });
    await vi.waitFor(async () => expect((await gqlOk(t.url, KeyProviderLimits, { id: up.keyIds[a] })).key!.providerLimits).toBeNull(), { timeout: 10_000, interval: 50 });
    for (let i = 0; i < 4; i++) await send(t.url, { path: '/proxy/provoff/x', headers: bearer(token.token) });
    expect(mock.hitsByKey[a]).toBeGreaterThan(1);
  });
});
