// End to end: client -> keyrelay proxy -> mock upstream, with a dashboard
// watching over graphql-ws and over SSE with curl (as docs/admin-api.md shows).
// With the default settings a request's log event should arrive within the
// issue's 100 ms (printed, not asserted: timing belongs in benchmarks) (the log writer writes a row soon after a quiet spell).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { subscribed, wsClient } from './support.ts';

const CreateUpstream = graphql(`mutation LiveCreateUpstream($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }`);
const AddKeys = graphql(`mutation LiveAddKeys($upstreamId: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $upstreamId, keys: $keys) { id } }`);
const CreateRule = graphql(`mutation LiveCreateRule($input: CreateRuleInput!) { createRule(input: $input) { id } }`);
const CreateToken = graphql(`mutation LiveCreateToken($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token } }`);
const LiveRequests = graphql(`subscription LiveRequests($upstreamId: ID) { requestLogged(upstreamId: $upstreamId) { id requestId status matchedRules key { id name } } }`);
const LiveKeys = graphql(`subscription LiveKeys($upstreamId: ID) { keyStateChanged(upstreamId: $upstreamId) { keyId from to actor reason rule { name } } }`);

interface Logged { id: string; requestId: string; status: number; matchedRules: string[]; key: { id: string; name: string } | null }
interface Changed { keyId: string; from: string; to: string; actor: string; rule: { name: string } | null }

/** Collects payloads from a subscription source; `next(match)` resolves with the first matching one. */
function collector<T>() {
  const seen: T[] = [];
  const waiters: Array<{ match: (v: T) => boolean; resolve: (v: T) => void }> = [];
  return {
    seen,
    push(value: T) {
      seen.push(value);
      for (const w of [...waiters]) if (w.match(value)) waiters.splice(waiters.indexOf(w), 1) && w.resolve(value);
    },
    next(match: (v: T) => boolean): Promise<T> {
      const found = seen.find(match);
      return found ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

/** `curl -N` on an SSE subscription, exactly as the docs show it. */
function curlSubscribe<T>(url: string, query: string, variables: Record<string, unknown>, field: string) {
  const proc: ChildProcessWithoutNullStreams = spawn('curl', [
    '-sN', `${url}/graphql`,
    '-H', `authorization: Bearer ${ADMIN_TOKEN}`,
    '-H', 'accept: text/event-stream',
    '-H', 'content-type: application/json',
    '--data', JSON.stringify({ query, variables }),
  ]);
  const out = collector<T>();
  let raw = '';
  let buffer = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame.split('\n').find((l) => l.startsWith('data:'));
      if (frame.startsWith('event: next') && data) out.push((JSON.parse(data.slice(5)) as { data: Record<string, T> }).data[field]!);
    }
  });
  return { ...out, raw: () => raw, stop: () => proc.kill() };
}

describe('live events from proxied traffic', () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let ws: Client;
  let upstreamId: string;
  let proxyToken: string;
  const canary = `sk-canary-${randomUUID()}`;
  const stops: Array<() => unknown> = [];
  const wsSeen: string[] = [];

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway();
    ws = wsClient(t.url);
    upstreamId = (await gqlOk(t.url, CreateUpstream, { input: { name: 'live', baseUrl: `${mock.url}/v1`, maxRetries: 0 } })).createUpstream.id;
    await gqlOk(t.url, AddKeys, { upstreamId, keys: [{ value: `${canary}-a`, name: 'a' }, { value: `${canary}-b`, name: 'b' }] });
    await gqlOk(t.url, CreateRule, { input: { upstreamId, name: 'rate limited', condition: { status: { equals: 429 } }, actions: ['DISABLE_KEY'], disableForSeconds: 600 } });
    proxyToken = (await gqlOk(t.url, CreateToken, { input: { name: 'live' } })).createAccessToken.token;
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
    await ws?.dispose();
    await t?.close();
    await mock?.close();
  });

  async function watchWs<T>(query: string, field: string, topic: 'requestLog:created' | 'apiKey:stateChanged') {
    const out = collector<T>();
    const ready = subscribed(t.gateway.events, topic);
    stops.push(ws.subscribe<Record<string, T>>({ query, variables: { upstreamId } }, {
      next: (msg) => {
        wsSeen.push(JSON.stringify(msg));
        if (msg.data) out.push(msg.data[field]!);
      },
      error: (error) => {
        throw new Error(`subscription failed: ${JSON.stringify(error)}`);
      },
      complete: () => {},
    }));
    await ready;
    return out;
  }
  async function watchCurl<T>(query: string, field: string, topic: 'requestLog:created' | 'apiKey:stateChanged') {
    const ready = subscribed(t.gateway.events, topic);
    const sub = curlSubscribe<T>(t.url, query, { upstreamId }, field);
    stops.push(sub.stop);
    await ready;
    return sub;
  }
  function chat(mode?: string) {
    return fetch(`${t.url}/proxy/live/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${proxyToken}`, 'content-type': 'application/json', ...(mode ? { 'x-mock': mode } : {}) },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }),
    });
  }

  it('a request reaches graphql-ws and curl subscribers as requestLogged; a rule disabling a key as keyStateChanged', async () => {
    const wsLogs = await watchWs<Logged>(print(LiveRequests), 'requestLogged', 'requestLog:created');
    const wsKeys = await watchWs<Changed>(print(LiveKeys), 'keyStateChanged', 'apiKey:stateChanged');
    const curlLogs = await watchCurl<Logged>(print(LiveRequests), 'requestLogged', 'requestLog:created');
    const curlKeys = await watchCurl<Changed>(print(LiveKeys), 'keyStateChanged', 'apiKey:stateChanged');

    const ok = await chat();
    expect(ok.status).toBe(200);
    await ok.text();
    const finished = performance.now();
    const requestId = ok.headers.get('x-request-id');
    const viaWs = await wsLogs.next((l) => l.status === 200);
    const ms = performance.now() - finished;
    console.log(`[proxy -> graphql-ws] requestLogged ${ms.toFixed(1)} ms after the response ended`);
    // Latency is printed above for the record; on a loaded machine it is no test of behaviour.
    if (requestId) expect(viaWs.requestId).toBe(requestId);
    expect(viaWs.key?.name).toMatch(/^[ab]$/);
    expect((await curlLogs.next((l) => l.id === viaWs.id)).status).toBe(200);

    const limited = await chat('status:429');
    expect(limited.status).toBe(429);
    await limited.text();
    const change = await wsKeys.next((c) => c.to === 'DISABLED');
    expect(change).toMatchObject({ from: 'ACTIVE', to: 'DISABLED', actor: 'RULE', rule: { name: 'rate limited' } });
    expect(await curlKeys.next((c) => c.keyId === change.keyId)).toMatchObject({ to: 'DISABLED', actor: 'RULE' });
    const logged = await wsLogs.next((l) => l.status === 429);
    expect(logged.key?.id).toBe(change.keyId);
    expect(logged.matchedRules).toHaveLength(1);
    expect((await curlLogs.next((l) => l.status === 429)).id).toBe(logged.id);

    // Nothing a subscriber received, nor any log line, carries a key.
    const everything = [...wsSeen, curlLogs.raw(), curlKeys.raw(), ...t.logLines].join('\n');
    expect(everything).not.toContain(canary);
  });
});
