// Rules acting on real proxied traffic: mock upstream <- keyrelay <- fetch,
// with key state changes observed over graphql-ws as a dashboard would.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';

const CreateUpstream = graphql(`mutation E2eCreateUpstream($input: CreateUpstreamInput!) { createUpstream(input: $input) { id name } }`);
const AddKeys = graphql(`mutation E2eAddKeys($upstreamId: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $upstreamId, keys: $keys) { id } }`);
const CreateRule = graphql(`mutation E2eCreateRule($input: CreateRuleInput!) { createRule(input: $input) { id } }`);
const CreateToken = graphql(`mutation E2eCreateToken($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token } }`);
const KeyStatus = graphql(`query E2eKeyStatus($id: ID!) { key(id: $id) { id status disabledUntil statusReason } }`);
const SetKeyStatus = graphql(`mutation E2eSetKeyStatus($id: ID!, $status: KeyStatus!) { setKeyStatus(id: $id, status: $status) { id status } }`);
const KeyStateChanged = `subscription E2eKeyStateChanged($upstreamId: ID) {
  keyStateChanged(upstreamId: $upstreamId) { keyId from to actor reason disabledUntil rule { id } requestId }
}`;

interface Change {
  keyId: string;
  from: string;
  to: string;
  actor: string;
  reason: string | null;
  disabledUntil: string | null;
  rule: { id: string } | null;
  requestId: string | null;
}

let t: TestGateway;
let mock: MockUpstream;
let token: string;
let ws: Client;

beforeAll(async () => {
  mock = await startMockUpstream();
  t = await startTestGateway({ provider: 'sqlite' });
  token = (await gqlOk(t.url, CreateToken, { input: { name: 'e2e' } })).createAccessToken.token;
  ws = createClient({
    url: `${t.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${ADMIN_TOKEN}` },
    retryAttempts: 0,
  });
});
afterAll(async () => {
  await ws?.dispose();
  await t?.close();
  await mock?.close();
});

async function upstreamWithKeys(name: string, secrets: string[], extra: Record<string, unknown> = {}) {
  const { createUpstream } = await gqlOk(t.url, CreateUpstream, { input: { name, baseUrl: `${mock.url}/v1`, strategy: 'ROUND_ROBIN', ...extra } });
  const { addKeys } = await gqlOk(t.url, AddKeys, { upstreamId: createUpstream.id, keys: secrets.map((value, i) => ({ value, name: `${name}-${i}` })) });
  const ids = Object.fromEntries(secrets.map((s, i) => [s, addKeys[i].id]));
  return { id: createUpstream.id, ids };
}

function chat(upstream: string, model = 'gpt-test') {
  return fetch(`${t.url}/proxy/${upstream}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
}

/** Collects keyStateChanged events of one upstream over graphql-ws; resolves `ready` once the server listens. */
function watchKeys(upstreamId: string) {
  const changes: Change[] = [];
  const waiters: Array<() => void> = [];
  let ready!: () => void;
  const listening = new Promise<void>((resolve) => (ready = resolve));
  const original = t.gateway.events.subscribe;
  // Resolve once the subscription resolver has subscribed to the bus, so no event can slip past.
  t.gateway.events.subscribe = ((...args: Parameters<typeof original>) => {
    const iterator = original.apply(t.gateway.events, args);
    if (args[0] === 'apiKey:stateChanged') {
      t.gateway.events.subscribe = original;
      setImmediate(ready);
    }
    return iterator;
  }) as typeof original;
  const stop = ws.subscribe<{ keyStateChanged: Change }>(
    { query: KeyStateChanged, variables: { upstreamId } },
    {
      next: (msg) => {
        if (msg.data) changes.push(msg.data.keyStateChanged);
        for (const wake of waiters.splice(0)) wake();
      },
      error: (err) => {
        throw err;
      },
      complete: () => {},
    },
  );
  return {
    changes,
    listening,
    stop,
    /** Resolves with the first change matching `pred` (already seen or still to come). */
    async next(pred: (c: Change) => boolean): Promise<Change> {
      for (;;) {
        const found = changes.find(pred);
        if (found) return found;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

describe('rules on proxied traffic', () => {
  it('a 429 rule with disableForSeconds 2: the request succeeds on another key; the key is DISABLED, then ACTIVE again by its timer', async () => {
    const LIMITED = 'sk-e2e-limited-000000000000000000001';
    const FINE = 'sk-e2e-fine-00000000000000000000002';
    mock.byKey[LIMITED] = 'status:429';
    const up = await upstreamWithKeys('e2e-429', [LIMITED, FINE]);
    const { createRule } = await gqlOk(t.url, CreateRule, {
      input: { upstreamId: up.id, name: 'rest on 429', condition: { status: { equals: 429 } }, actions: ['DISABLE_KEY'], disableForSeconds: 2 },
    });
    const watch = watchKeys(up.id);
    await watch.listening;
    // The log row of the request that met the limited key names the rule that matched.
    const logs = t.gateway.events.subscribe('requestLog:created');
    const logged = (async () => {
      for await (const row of logs) if (row.upstreamId === up.id && row.attempts === 2) return row;
    })();

    // Round robin: within two requests one lands on the limited key first.
    const statuses: number[] = [];
    const attempts: string[] = [];
    const sentAt = Date.now();
    for (let i = 0; i < 2 && !(mock.hitsByKey[LIMITED] >= 1); i++) {
      const res = await chat('e2e-429');
      statuses.push(res.status);
      attempts.push(res.headers.get('x-keyrelay-attempts') ?? '');
      await res.text();
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(mock.hitsByKey[LIMITED]).toBe(1);
    expect(attempts.at(-1)).toBe('2');

    const disabled = await watch.next((c) => c.keyId === up.ids[LIMITED] && c.to === 'DISABLED');
    const seenDisabledAt = Date.now();
    expect(disabled).toMatchObject({ from: 'ACTIVE', actor: 'RULE', rule: { id: createRule.id } });
    expect(disabled.requestId).toBeTruthy();
    expect((await gqlOk(t.url, KeyStatus, { id: up.ids[LIMITED] })).key?.status).toBe('DISABLED');

    // Meanwhile the other key serves, and the limited one is not tried.
    const during = await chat('e2e-429');
    expect(during.status).toBe(200);
    expect(during.headers.get('x-keyrelay-attempts')).toBe('1');
    await during.text();

    const back = await watch.next((c) => c.keyId === up.ids[LIMITED] && c.to === 'ACTIVE');
    const backAt = Date.now();
    expect(back).toMatchObject({ from: 'DISABLED', actor: 'TIMER' });
    watch.stop();
    const row = await logged;
    await logs.return();
    expect(row).toMatchObject({ status: 200, matchedRules: createRule.id, keyId: up.ids[FINE] });

    const events = await t.gateway.db.prisma.keyEvent.findMany({ where: { keyId: up.ids[LIMITED] }, orderBy: { id: 'asc' } });
    expect(events.map((e) => [e.fromStatus, e.toStatus, e.actor])).toEqual([
      ['ACTIVE', 'DISABLED', 'RULE'],
      ['DISABLED', 'ACTIVE', 'TIMER'],
    ]);
    // Behaviour, not speed: 2 s from when the rule fired (between the request and seeing the event), and the timer not early.
    const until = events[0].disabledUntil!.getTime();
    expect(until).toBeGreaterThanOrEqual(sentAt + 2000);
    expect(until).toBeLessThanOrEqual(seenDisabledAt + 2000);
    expect(backAt).toBeGreaterThanOrEqual(until - 20); // wall clock against timer clock: a few ms either way
    expect((await gqlOk(t.url, KeyStatus, { id: up.ids[LIMITED] })).key?.status).toBe('ACTIVE');
  });

  it('all keys answering 500 with the cap at 50%: at most half are disabled and the client gets the provider\'s last 500', async () => {
    const secrets = [1, 2, 3, 4].map((i) => `sk-e2e-down-${i}-0000000000000000000000`);
    for (const s of secrets) mock.byKey[s] = 'status:500';
    const up = await upstreamWithKeys('e2e-500', secrets, { maxEjectionPercent: 50, retryBaseMs: 1, retryMaxMs: 5 });
    await gqlOk(t.url, CreateRule, {
      input: { upstreamId: up.id, name: 'rest on 5xx', condition: { status: { min: 500, max: 599 } }, actions: ['DISABLE_KEY'], disableForSeconds: 60 },
    });
    for (let i = 0; i < 4; i++) {
      const res = await chat('e2e-500');
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toContain('application/json');
      const body = (await res.json()) as { error?: { message?: string } };
      expect(typeof body.error?.message).toBe('string');
      expect(JSON.stringify(body)).not.toContain('sk-e2e');
    }
    const states = secrets.map((s) => t.gateway.state.keys.get(up.ids[s])!.status);
    expect(states.filter((s) => s === 'DISABLED')).toHaveLength(2);
    expect(states.filter((s) => s === 'ACTIVE')).toHaveLength(2);
  });

  it('a banned key stays banned, whatever time passes, until setKeyStatus(..., ACTIVE)', async () => {
    const REVOKED = 'sk-e2e-revoked-00000000000000000000001';
    const FINE = 'sk-e2e-fine2-0000000000000000000000002';
    mock.byKey[REVOKED] = 'status:401:Incorrect API key provided: {key}';
    const up = await upstreamWithKeys('e2e-401', [REVOKED, FINE]);
    await gqlOk(t.url, CreateRule, {
      input: { upstreamId: up.id, name: 'ban on 401', condition: { status: { in: [401, 403] } }, actions: ['BAN_KEY'] },
    });
    for (let i = 0; i < 6; i++) {
      const res = await chat('e2e-401');
      expect(res.status).toBe(200);
      expect(await res.text()).not.toContain(REVOKED);
    }
    expect(mock.hitsByKey[REVOKED]).toBe(1);
    const key = (await gqlOk(t.url, KeyStatus, { id: up.ids[REVOKED] })).key!;
    expect(key).toMatchObject({ status: 'BANNED', disabledUntil: null });

    delete mock.byKey[REVOKED]; // the provider restored the key
    await gqlOk(t.url, SetKeyStatus, { id: up.ids[REVOKED], status: 'ACTIVE' });
    for (let i = 0; i < 2; i++) expect((await chat('e2e-401')).status).toBe(200);
    expect(mock.hitsByKey[REVOKED]).toBe(2);
  });

  it('a streamed response: body rules run on the captured stream when it ends (SSE data as JSON)', async () => {
    const STREAMER = 'sk-e2e-streamer-00000000000000000001';
    mock.byKey[STREAMER] = 'sse:3:0';
    const up = await upstreamWithKeys('e2e-sse', [STREAMER]);
    const { createRule } = await gqlOk(t.url, CreateRule, {
      input: { upstreamId: up.id, name: 'stream says tok2', condition: { jsonPath: { path: '$.choices[0].delta.content', equals: 'tok2 ' } }, actions: ['DISABLE_KEY'], disableForSeconds: 60 },
    });
    const watch = watchKeys(up.id);
    await watch.listening;
    const res = await chat('e2e-sse');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(await res.text()).toContain('tok2');
    const change = await watch.next((c) => c.keyId === up.ids[STREAMER]);
    watch.stop();
    expect(change).toMatchObject({ to: 'DISABLED', actor: 'RULE', rule: { id: createRule.id } });
  });

  it('client-caused 4xx (key poisoning) never take a key out under a broad rule', async () => {
    const POISONED = 'sk-e2e-poisoned-00000000000000000001';
    const up = await upstreamWithKeys('e2e-4xx', [POISONED]);
    await gqlOk(t.url, CreateRule, {
      input: { upstreamId: up.id, name: 'any error', condition: { status: { min: 400 } }, actions: ['DISABLE_KEY'], disableForSeconds: 60 },
    });
    for (const status of [400, 404, 413, 422]) {
      mock.byKey[POISONED] = `status:${status}`;
      const res = await chat('e2e-4xx');
      expect(res.status).toBe(status);
      await res.text();
    }
    expect(t.gateway.state.keys.get(up.ids[POISONED])!.status).toBe('ACTIVE');
    mock.byKey[POISONED] = 'status:429';
    await (await chat('e2e-4xx')).text();
    expect(t.gateway.state.keys.get(up.ids[POISONED])!.status).toBe('DISABLED');
  });

  it('per key and model: a key rate-limited on one model keeps serving another', async () => {
    const ONLY = 'sk-e2e-only-000000000000000000000001';
    const up = await upstreamWithKeys('e2e-model', [ONLY]);
    await gqlOk(t.url, CreateRule, {
      input: { upstreamId: up.id, name: 'model 429', condition: { status: { equals: 429 } }, actions: ['DISABLE_KEY'], disableForSeconds: 60, scope: 'KEY_MODEL' },
    });
    mock.byKey[ONLY] = 'status:429';
    const limited = await chat('e2e-model', 'model-a');
    await limited.text();
    expect(limited.status).not.toBe(200);
    delete mock.byKey[ONLY];
    const other = await chat('e2e-model', 'model-b');
    expect(other.status).toBe(200);
    await other.text();
    const again = await chat('e2e-model', 'model-a');
    expect(again.status).toBe(503);
    await again.text();
    expect(t.gateway.state.keys.get(up.ids[ONLY])!.status).toBe('ACTIVE');
  });
});
