// keyStateChanged's `key` and `rule` relations load like requestLogged's: one
// query per model for the subscribers of an event, not one per subscriber.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyStateChange } from '../../../src/events/bus.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { spyGraphQL, type SpiedGraphQL } from './prisma-spy.ts';
import { sseEvents, subscribed } from './support.ts';

// Sent in-process to a Yoga on a recording Prisma client: not a codegen document.
const LIVE_KEYS = `subscription { keyStateChanged { keyId to key { name status upstream { name } } rule { name } } }`;
const SUBSCRIBERS = 50;
const EVENTS = 10;

interface Live { keyId: string; to: string; key: { name: string; status: string; upstream: { name: string } } | null; rule: { name: string } | null }

describe.each(PROVIDERS)('keyStateChanged relations on %s', (provider) => {
  let t: TestGateway;
  let spy: SpiedGraphQL;
  let keys: Array<{ id: string; name: string }>;
  let ruleId: string;

  beforeAll(async () => {
    t = await startTestGateway({ provider });
    const { services } = t.gateway;
    const upstream = await services.upstreams.create({ name: 'watched', baseUrl: 'https://api.example.com' });
    keys = (await services.keys.add(upstream.id, [{ value: 'sk-watch-a-0123456789abcdef' }, { value: 'sk-watch-b-0123456789abcdef' }])).map((k) => ({ id: k.id, name: k.name }));
    ruleId = (await services.rules.create({ upstreamId: upstream.id, name: 'watch 429', condition: { status: { equals: 429 } }, actions: ['ALERT'] })).id;
    spy = await spyGraphQL(t, { relationTtlMs: 60_000 });
  });
  afterAll(async () => {
    await spy?.close();
    await t?.close();
  });

  const change = (i: number): KeyStateChange => {
    const key = keys[i % 2]!;
    return {
      keyId: key.id, upstreamId: '', keyName: key.name, fingerprint: '', from: 'ACTIVE', to: 'DISABLED', reason: 'test',
      actor: i % 2 ? 'RULE' : 'ADMIN', ruleId: i % 2 ? ruleId : null, requestId: null, model: null, disabledUntil: null, at: Date.now(),
    };
  };

  it(`${SUBSCRIBERS} subscribers: their key and rule relations cost at most one query per event`, async () => {
    const streams: Array<AsyncGenerator<{ event: string; data: unknown }>> = [];
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const ready = subscribed(t.gateway.events, 'apiKey:stateChanged');
      streams.push(sseEvents(await spy.stream(LIVE_KEYS)));
      await ready;
    }
    spy.queries.length = 0;
    for (let i = 0; i < EVENTS; i++) t.gateway.events.publish('apiKey:stateChanged', change(i));
    const seen = await Promise.all(
      streams.map(async (stream) => {
        const got: Live[] = [];
        while (got.length < EVENTS) {
          const frame = (await stream.next()).value as { event: string; data: { data?: { keyStateChanged: Live }; errors?: unknown } };
          expect(frame.data.errors).toBeUndefined();
          if (frame.event === 'next') got.push(frame.data.data!.keyStateChanged);
        }
        return got;
      }),
    );
    await Promise.all(streams.map((s) => s.return(undefined)));
    for (const rows of seen) {
      expect(rows.map((r) => r.key?.name)).toEqual(Array.from({ length: EVENTS }, (_, i) => keys[i % 2]!.name));
      expect(rows.map((r) => r.key?.upstream.name)).toEqual(Array(EVENTS).fill('watched'));
      expect(rows.map((r) => r.rule?.name ?? null)).toEqual(Array.from({ length: EVENTS }, (_, i) => (i % 2 ? 'watch 429' : null)));
    }
    // Each event starts the cache afresh (as a key state change must), so the bound is per event:
    // one batch of keys and rules for all 50 subscribers. Loading per subscriber took 25 here
    // (Prisma merges the findUniques of one tick, no more).
    console.log(`[${provider}] ${SUBSCRIBERS} subscribers x ${EVENTS} key state changes: ${spy.queries.length} SQL statements for their relations`);
    expect(spy.queries.length).toBeLessThanOrEqual(EVENTS);
  });
});
