// The admin API's guards on each transport: auth on WebSocket connection_init
// (graphql-ws close codes), Origin, frame size, graphql-armor limits on HTTP,
// SSE and WebSocket alike (rejected before any resolver runs), CSRF, body size,
// and what production hides.
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { graphql } from '../../generated/index.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';
import { deepSelection, sseEvents, sseSubscribe, wsClient, wsUrl } from './support.ts';

const Upstreams = graphql(`query SafetyUpstreams { upstreams { id name } }`);
const CreateUpstream = graphql(`mutation SafetyCreateUpstream($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }`);

/** A raw graphql-transport-ws socket, to speak the protocol wrongly on purpose. */
function rawSocket(url: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(wsUrl(url), 'graphql-transport-ws', { headers });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_req, res) => reject(Object.assign(new Error('upgrade refused'), { status: res.statusCode })));
    socket.once('error', reject);
  });
  const messages: Array<{ type: string }> = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as { type: string }));
  const nextMessage = () => new Promise<{ type: string; payload?: unknown }>((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)))));
  return { socket, opened, closed, messages, nextMessage, send: (m: unknown) => socket.send(JSON.stringify(m)) };
}

describe('WebSocket (graphql-ws) guards', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('closes with 4403 on a wrong or missing admin token in connection_init', async () => {
    for (const token of ['wrong-token', null]) {
      let closedWith = 0;
      const client = wsClient(t.url, token, { onClose: (code) => (closedWith = code) });
      const result = await new Promise<unknown>((resolve) => client.subscribe({ query: '{ upstreams { id } }' }, { next: resolve, error: resolve, complete: () => resolve('complete') }));
      expect(closedWith).toBe(4403);
      expect(JSON.stringify(result)).not.toContain('"data"');
      await client.dispose();
    }
  });

  it('closes with 4408 when connection_init never comes, 4401 on subscribe before ack, 4429 on a second init', async () => {
    const silent = rawSocket(t.url);
    await silent.opened;
    expect((await silent.closed).code).toBe(4408);

    const eager = rawSocket(t.url);
    await eager.opened;
    eager.send({ type: 'subscribe', id: '1', payload: { query: '{ upstreams { id } }' } });
    expect((await eager.closed).code).toBe(4401);

    const twice = rawSocket(t.url);
    await twice.opened;
    twice.send({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect((await twice.nextMessage()).type).toBe('connection_ack');
    twice.send({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect((await twice.closed).code).toBe(4429);
  });

  it('refuses the upgrade from a foreign Origin (cross-site WebSocket hijacking), accepts its own', async () => {
    const foreign = rawSocket(t.url, { origin: 'https://evil.example' });
    await expect(foreign.opened).rejects.toMatchObject({ status: 403 });
    const own = rawSocket(t.url, { origin: t.url });
    await own.opened;
    own.socket.close();
  });

  it('closes a socket that sends a frame over maxPayload (1 MiB)', async () => {
    const big = rawSocket(t.url);
    await big.opened;
    big.send({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}`, pad: 'x'.repeat(1024 * 1024 + 10) } });
    expect((await big.closed).code).toBe(1009); // "message too big"
  });
});

describe('graphql-armor limits on HTTP, SSE and WebSocket', () => {
  let t: TestGateway;
  let calls: string[];
  beforeAll(async () => {
    t = await startTestGateway();
    await gqlOk(t.url, CreateUpstream, { input: { name: 'u', baseUrl: 'https://api.example.com' } });
    // Resolver spies: the stats resolver and the subscription's bus subscribe.
    calls = [];
    const { services, events } = t.gateway;
    const stats = services.stats;
    services.stats = (...args) => (calls.push('stats'), stats(...args));
    const subscribe = events.subscribe.bind(events);
    events.subscribe = ((...args: Parameters<typeof subscribe>) => (calls.push(`subscribe:${args[0]}`), subscribe(...args))) as typeof events.subscribe;
  });
  afterAll(async () => {
    await t?.close();
  });

  const deepQuery = `query Deep { stats { totals { requests } } upstreams { ${deepSelection(19, 'rules')} } }`;
  const deepSubscription = `subscription DeepSub { keyStateChanged { key { ${deepSelection(18, 'upstream')} } } }`;

  it('a control: the same shapes at a normal depth run their resolvers', async () => {
    await gqlOk(t.url, `{ stats { totals { requests } } upstreams { ${deepSelection(3, 'rules')} } }`);
    expect(calls).toEqual(['stats']);
    calls.length = 0;
  });

  it('rejects a depth-20 query over HTTP without running a resolver', async () => {
    const res = await gql(t.url, deepQuery);
    // graphql-armor's cost limit (checked while parsing) or its depth limit: either way before execution
    expect(res.errors?.[0]?.message).toMatch(/depth|cost/i);
    expect(res.text).not.toContain('"data"');
    const aliases = await gql(t.url, `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: upstreams { id }`).join(' ')} }`);
    expect(aliases.errors?.[0]?.message).toMatch(/alias/i);
    expect(calls).toEqual([]);
  });

  it('rejects a depth-20 subscription over SSE without subscribing', async () => {
    const res = await sseSubscribe(t.url, deepSubscription);
    const body = res.headers.get('content-type')?.includes('text/event-stream') ? (await sseEvents(res).next()).value?.data : await res.json();
    expect(JSON.stringify(body)).toMatch(/depth|cost/i);
    expect(JSON.stringify(body)).not.toContain('"data"');
    expect(calls).toEqual([]);
  });

  it('rejects depth-20 operations over WebSocket without running a resolver', async () => {
    const client = wsClient(t.url);
    for (const query of [deepSubscription, deepQuery]) {
      const outcome = await new Promise<unknown>((resolve) => client.subscribe({ query }, { next: (v) => resolve({ next: v }), error: (e) => resolve({ error: e }), complete: () => resolve('complete') }));
      expect(JSON.stringify(outcome)).toMatch(/depth|cost/i);
      expect(outcome).toHaveProperty('error');
    }
    await client.dispose();
    expect(calls).toEqual([]);
  });
});

describe('HTTP guards', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t?.close();
  });
  const post = (body: BodyInit, headers: Record<string, string>) => fetch(`${t.url}/graphql`, { method: 'POST', body, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers } });
  const query = print(Upstreams);

  it('CSRF: POST bodies a browser sends cross-site without a preflight are refused with 403 saying to send JSON', async () => {
    for (const [body, type] of [
      [JSON.stringify({ query }), 'text/plain'],
      [new URLSearchParams({ query }), 'application/x-www-form-urlencoded'],
    ] as const) {
      const res = await post(body, { 'content-type': type });
      expect(res.status).toBe(403);
      expect((await res.json()).errors[0].message).toContain('content-type: application/json');
    }
    expect((await post(JSON.stringify({ query }), { 'content-type': 'application/json' })).status).toBe(200);
  });

  it('curl -d without a content-type gets a 403 that says to send content-type: application/json', async () => {
    const res = await fetch(`${t.url}/graphql`, { method: 'POST', body: Buffer.from(JSON.stringify({ query })), headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(403);
    expect((await res.json()).errors[0].message).toMatch(/content-type: application\/json/);
  });

  it('CSRF: a GET carrying the admin bearer token passes (a browser cannot forge that header cross-site); without it, Yoga\'s CSRF header is still required', async () => {
    const url = `${t.url}/graphql?query=${encodeURIComponent(query)}`;
    expect((await fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
    // Without Authorization the request is refused either way (401 before the CSRF check).
    expect((await fetch(url)).status).toBe(401);
  });

  it('refuses a GraphQL body over the limit with 413, and anything without the admin token with 401 (SSE too)', async () => {
    const huge = JSON.stringify({ query, variables: { pad: 'x'.repeat(1024 * 1024 + 1) } });
    expect((await post(huge, { 'content-type': 'application/json' })).status).toBe(413);
    expect((await gql(t.url, Upstreams, {}, { token: null })).status).toBe(401);
    const sse = await sseSubscribe(t.url, `subscription { keyStateChanged { keyId } }`, undefined, undefined, null);
    expect(sse.status).toBe(401);
    await sse.body?.cancel();
  });
});

describe('in production', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ env: { NODE_ENV: 'production' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('rejects introspection, serves no GraphiQL and suggests no field names', async () => {
    const intro = await gql(t.url, `{ __schema { types { name } } }`);
    expect(intro.errors?.[0]?.message).toMatch(/introspection/i);
    expect(intro.text).not.toContain('"types"');
    const page = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
    const typo = await gql(t.url, `{ upstreamz { id } }`);
    expect(typo.errors?.[0]?.message).not.toMatch(/did you mean/i);
  });

  it('masks unexpected errors as "Unexpected error." and keeps expected ones with code and field', async () => {
    await t.gateway.db.sql.execute('DROP TABLE "KeyEvent"');
    const broken = await gql(t.url, `{ keyEvents(first: 1) { edges { node { id } } } }`);
    expect(broken.errors?.[0]?.message).toBe('Unexpected error.');
    expect(broken.text).not.toMatch(/"KeyEvent"|sqlite|prisma|no such table|stack|SELECT/i);
    const bad = await gql(t.url, CreateUpstream, { input: { name: 'x', baseUrl: 'ftp://nope' } });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.baseUrl' });
  });
});
