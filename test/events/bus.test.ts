import { describe, expect, it } from 'vitest';
import { createEventBus, type ConfigChanged } from '../../src/events/bus.ts';

describe('event bus', () => {
  it('knows when a topic has subscribers, so publishers can skip unread payloads', async () => {
    const bus = createEventBus();
    expect(bus.hasSubscribers('config:changed')).toBe(false);

    const first = bus.subscribe('config:changed')[Symbol.asyncIterator]();
    const second = bus.subscribe('config:changed')[Symbol.asyncIterator]();
    // A subscription listens from its first pull.
    const firstNext = first.next();
    const secondNext = second.next();
    await new Promise((r) => setImmediate(r));
    expect(bus.hasSubscribers('config:changed')).toBe(true);
    expect(bus.hasSubscribers('requestLog:created')).toBe(false);

    const change: ConfigChanged = { kind: 'rules' };
    bus.publish('config:changed', change);
    expect((await firstNext).value).toEqual(change);
    expect((await secondNext).value).toEqual(change);

    await first.return?.();
    expect(bus.hasSubscribers('config:changed')).toBe(true);
    await second.return?.();
    expect(bus.hasSubscribers('config:changed')).toBe(false);
  });

  it('takes a hundred subscribers to one topic without a listener-leak warning', async () => {
    const bus = createEventBus();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const subs = Array.from({ length: 100 }, () => bus.subscribe('requestLog:created')[Symbol.asyncIterator]());
      const pulls = subs.map((s) => s.next());
      await new Promise((r) => setImmediate(r));
      // Warnings are emitted on the next tick.
      await new Promise((r) => setImmediate(r));
      expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
      await Promise.all(subs.map((s) => s.return?.()));
      await Promise.allSettled(pulls);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
