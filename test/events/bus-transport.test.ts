import { describe, expect, it } from 'vitest';
import { createEventBus, type BusTransport, type EventMap, type KeyStateChange } from '../../src/events/bus.ts';
import { watchSources } from '../../src/notifications/sources.ts';
import type { Notice } from '../../src/notifications/notice.ts';
import { createLogger } from '../../src/logger.ts';

const tick = () => new Promise((r) => setImmediate(r));

function fakeTransport(interest: Set<keyof EventMap>) {
  const forwarded: Array<[string, unknown]> = [];
  const interestChanges: string[] = [];
  const transport: BusTransport = {
    forward: (topic, payload) => void forwarded.push([topic, payload]),
    remoteInterest: (topic) => interest.has(topic),
    localInterestChanged: (topic) => void interestChanges.push(topic),
  };
  return { transport, forwarded, interestChanges };
}

const change = (to: KeyStateChange['to']): KeyStateChange => ({
  keyId: 'k1', upstreamId: 'u1', keyName: 'k', fingerprint: 'sk-…abcd', from: 'ACTIVE', to, reason: null, actor: 'RULE', ruleId: null, requestId: null, model: null, disabledUntil: null, at: Date.now(),
});

describe('event bus transport (cluster mode)', () => {
  it('hands local publishes to the transport, never events delivered from another instance, and marks those remote', async () => {
    const bus = createEventBus();
    const { transport, forwarded } = fakeTransport(new Set());
    const detach = bus.attachTransport(transport);
    const sub = bus.subscribe('apiKey:stateChanged')[Symbol.asyncIterator]();
    const first = sub.next();
    await tick();
    const local = change('DISABLED');
    bus.publish('apiKey:stateChanged', local);
    const remote = change('ACTIVE');
    bus.deliverRemote('apiKey:stateChanged', remote);
    expect((await first).value).toBe(local);
    expect((await sub.next()).value).toBe(remote);
    expect(forwarded).toEqual([['apiKey:stateChanged', local]]);
    expect(bus.isRemote(local)).toBe(false);
    expect(bus.isRemote(remote)).toBe(true);
    detach();
    bus.publish('apiKey:stateChanged', change('BANNED'));
    expect(forwarded).toHaveLength(1);
    await sub.return?.();
  });

  it('counts another instance listening as a subscriber, and says when local listening starts and stops', async () => {
    const bus = createEventBus();
    const interest = new Set<keyof EventMap>();
    const { transport, interestChanges } = fakeTransport(interest);
    bus.attachTransport(transport);
    expect(bus.hasSubscribers('requestLog:created')).toBe(false);
    interest.add('requestLog:created');
    expect(bus.hasSubscribers('requestLog:created')).toBe(true);
    expect(bus.localSubscribers('requestLog:created')).toBe(0);

    const a = bus.subscribe('requestLog:created')[Symbol.asyncIterator]();
    const b = bus.subscribe('requestLog:created')[Symbol.asyncIterator]();
    void a.next();
    void b.next();
    await tick();
    expect(bus.localSubscribers('requestLog:created')).toBe(2);
    await a.return?.();
    await b.return?.();
    // Once when the first came, once when the last left.
    expect(interestChanges).toEqual(['requestLog:created', 'requestLog:created']);
  });

  it('notifications: a key change from another instance is not notified here (its origin did), a local one is', async () => {
    const bus = createEventBus();
    const notices: Notice[] = [];
    const state = { upstreamsById: new Map(), keys: new Map() } as never;
    const stop = watchSources({ events: bus, state, log: createLogger('silent'), notify: (n) => void notices.push(n) });
    await tick();
    bus.deliverRemote('apiKey:stateChanged', change('BANNED'));
    await tick();
    expect(notices).toEqual([]);
    bus.publish('apiKey:stateChanged', change('BANNED'));
    await tick();
    expect(notices.map((n) => n.event)).toEqual(['KEY_BANNED']);
    stop();
  });
});
