import { describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/events/bus.ts';
import { boundedIterator, skipWhileBacklogged } from '../../src/graphql/bounded-iterator.ts';
import { logEvent } from '../gateway/graphql/support.ts';

function reporter() {
  const calls = { first: 0, closed: [] as number[] };
  return { calls, onFirstDrop: () => calls.first++, onClose: (n: number) => calls.closed.push(n) };
}

describe('boundedIterator', () => {
  it('keeps at most `max` events for a consumer that does not read, drops the rest and counts them', async () => {
    const bus = createEventBus();
    const r = reporter();
    const it = boundedIterator(bus.subscribe('requestLog:created'), 100, r);
    await new Promise(setImmediate);
    for (let id = 1; id <= 350; id++) bus.publish('requestLog:created', logEvent({ id }));
    await new Promise(setImmediate);
    expect(it.queued).toBe(100);
    expect(it.dropped).toBe(250);
    expect(r.calls.first).toBe(1); // one warning, not one per event
    // the consumer gets the oldest 100, in order, then the stream goes on
    const got: number[] = [];
    for (let i = 0; i < 100; i++) got.push((await it.next()).value!.id);
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const later = it.next();
    bus.publish('requestLog:created', logEvent({ id: 999 }));
    expect((await later).value!.id).toBe(999);
    await it.return!();
    expect(r.calls.closed).toEqual([250]);
    expect((await it.next()).done).toBe(true);
  });

  it('filters with `accept` before queueing: rejected events neither fill the buffer nor count as dropped', async () => {
    const bus = createEventBus();
    const r = reporter();
    const it = boundedIterator(bus.subscribe('requestLog:created'), 10, r, (log) => log.id % 3 === 0);
    await new Promise(setImmediate);
    for (let id = 1; id <= 45; id++) bus.publish('requestLog:created', logEvent({ id }));
    await new Promise(setImmediate);
    expect(it.queued).toBe(10);
    expect(it.dropped).toBe(5); // 15 accepted, 10 kept
    const got: number[] = [];
    for (let i = 0; i < 10; i++) got.push((await it.next()).value!.id);
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => (i + 1) * 3));
    await it.return!();
    expect(r.calls.closed).toEqual([5]);
  });

  it('subscribes at once, so an event published before the first pull is kept', async () => {
    const bus = createEventBus();
    const it = boundedIterator(bus.subscribe('requestLog:created'), 10);
    await new Promise(setImmediate);
    bus.publish('requestLog:created', logEvent({ id: 7 }));
    expect((await it.next()).value!.id).toBe(7);
    await it.return!();
  });

  it('ends a waiting consumer when returned, and passes a source failure on', async () => {
    const bus = createEventBus();
    const it = boundedIterator(bus.subscribe('requestLog:created'), 10);
    const waiting = it.next();
    await it.return!();
    expect(await waiting).toEqual({ value: undefined, done: true });

    async function* failing() {
      yield 1;
      throw new Error('source broke');
    }
    const broken = boundedIterator(failing(), 10);
    expect((await broken.next()).value).toBe(1);
    await expect(broken.next()).rejects.toThrow('source broke');
  });
});

describe('skipWhileBacklogged', () => {
  it('drops events while the socket backlog is over the limit, and counts them', async () => {
    // The client stalls while events 4-6 arrive, then catches up.
    const backlogAt: Record<number, number> = { 4: 5000, 5: 9000, 6: 1001 };
    let current = 0;
    async function* source() {
      for (let i = 1; i <= 10; i++) {
        current = i;
        yield i;
      }
    }
    const r = reporter();
    const out: number[] = [];
    for await (const n of skipWhileBacklogged(source(), () => backlogAt[current] ?? 0, 1000, r)) out.push(n);
    expect(out).toEqual([1, 2, 3, 7, 8, 9, 10]);
    expect(r.calls.first).toBe(1);
    expect(r.calls.closed).toEqual([3]);
  });
});
