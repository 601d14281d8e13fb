// 2,000 random bodies and headers (random bytes, deep nesting, huge numbers,
// invalid UTF-8, NUL) through an upstream that answers with them, under rules
// of every condition kind, on both databases: the gateway stays up, the event
// loop never stalls past 50 ms, every request is logged, and no key or token
// reaches a client. The inputs come from a fixed seed, so a failure replays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql } from '../../support/graphql-client.ts';
import { canaryKey, createToken, createUpstream, logRows, send, type RawResponse } from './support.ts';
import { credentialOf, startHostileUpstream, type HostileUpstream } from './hostile-upstream.ts';
import { randomBody, randomHeaders, rng } from './fuzz-gen.ts';
import { watchEventLoop } from './loop-watch.ts';

const REQUESTS = 2000;
const CONCURRENCY = 16;
const STATUSES = [200, 200, 200, 400, 404, 422, 500];

const CONDITIONS = [
  { status: { in: [400, 404] } },
  { body: { contains: 'error', ignoreCase: true } },
  { body: { regex: '(a|b)+c' } },
  { header: { name: 'x-fuzz', regex: '.*z' } },
  { header: { name: 'content-type', contains: 'json' } },
  { jsonPath: { path: '$..error..code', exists: true } },
  { jsonPath: { path: '$.a[*].b', equals: 1 } },
  { jsonPath: { path: '$..*..*', exists: true } },
  { jsonPath: { path: '$.big', gt: 10 } },
  { latencyMs: { gt: 1000 } },
  { all: [{ status: { min: 400 } }, { not: { body: { contains: 'ok' } } }] },
  { any: [{ jsonPath: { path: '$..model', in: ['m1', 'm2'] } }, { header: { name: 'x-fuzz', exists: true } }] },
];

const encodings = (s: string) => [s, encodeURIComponent(s), Buffer.from(s).toString('base64'), Buffer.from(s).toString('base64url')];

describe.each(PROVIDERS)('fuzzing the proxy (%s)', (provider) => {
  let t: TestGateway;
  let upstream: HostileUpstream;
  let token: string;
  const keys = Array.from({ length: 4 }, () => canaryKey());

  beforeAll(async () => {
    // Echoes the body back with the status asked for; the key goes into a header on every answer and into error bodies.
    upstream = await startHostileUpstream((req, body) => {
      const status = Number(req.headers['x-status'] ?? 200);
      const key = credentialOf(req);
      const sse = req.headers['content-type'] === 'text/event-stream';
      const out = sse ? Buffer.concat([Buffer.from('data: '), body, Buffer.from('\n\ndata: [DONE]\n\n')]) : status >= 400 ? Buffer.concat([body, Buffer.from(` key=${key}`)]) : body;
      return { status, headers: { 'content-type': sse ? 'text/event-stream' : 'application/json', 'x-fuzz': 'zz', 'x-echo-auth': `Bearer ${key}` }, body: out };
    });
    t = await startTestGateway({ provider });
    const up = await createUpstream(t, upstream.url, { name: 'fuzz', bodyLogging: 'ALL', retryOnStatus: [] }, keys.map((value) => ({ value })));
    for (const [i, condition] of CONDITIONS.entries()) {
      const res = await gql(t.url, 'mutation($i: CreateRuleInput!) { createRule(input: $i) { id } }', { i: { name: `fuzz-${i}`, upstreamId: up.id, actions: ['LOG'], condition } });
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    }
    token = (await createToken(t)).token;
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
  });

  it('stays up, never stalls the event loop past 50 ms, logs every request and leaks no secret', async () => {
    const r = rng(provider === 'sqlite' ? 23 : 2323);
    const requests = Array.from({ length: REQUESTS }, (_, i) => ({
      id: `fuzz-${provider}-${i}`,
      body: randomBody(r),
      headers: { ...randomHeaders(r), 'x-status': String(STATUSES[Math.floor(r() * STATUSES.length)]) },
      path: `/proxy/fuzz/${encodeURIComponent(String.fromCharCode(...Array.from({ length: 1 + Math.floor(r() * 8) }, () => 0x20 + Math.floor(r() * 0x5e))))}`,
    }));
    const replies: RawResponse[] = [];
    const loop = watchEventLoop();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length) {
          const q = requests[next++];
          replies.push(await send(t.url, { method: 'POST', path: q.path, headers: { ...q.headers, authorization: `Bearer ${token}`, 'x-request-id': q.id }, body: q.body }));
        }
      }),
    );
    const report = loop.stop();
    expect(replies).toHaveLength(REQUESTS);
    // Still up: a plain request and the health check answer.
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const rows = await logRows(t);
    const logged = new Set(rows.map((row) => row.requestId));
    expect(requests.filter((q) => !logged.has(q.id)).map((q) => q.id)).toEqual([]);
    const seen = replies.map((res) => `${res.status} ${JSON.stringify(res.headers)} ${res.body}`).join('\n');
    for (const secret of [...keys, token]) for (const form of encodings(secret)) expect(seen.includes(form), `a response carried ${form.slice(0, 12)}…`).toBe(false);
    const seenLoop = JSON.stringify(report);
    // The gateway, the clients and the upstream all run on this loop: none of them may hold it 50 ms.
    expect(report.maxBlockedMs, seenLoop).toBeLessThan(50);
    // monitorEventLoopDelay's own figure also counts waiting for a CPU, so it is held to 50 ms only on a machine that has one free.
    if (!report.overloaded) expect(report.maxDelayMs, seenLoop).toBeLessThan(50);
  }, 120_000);
});
