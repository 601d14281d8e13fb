/** What a bounded subscription reports when it starts and stops dropping events. */
export interface DropReporter {
  /** Called on the first drop of a subscription, so an operator hears about it once, not per event. */
  onFirstDrop(): void;
  /** Called when the subscription ends, with the total dropped (only if any were). */
  onClose(dropped: number): void;
}

export interface BoundedIterator<T> extends AsyncIterableIterator<T> {
  readonly dropped: number;
  readonly queued: number;
}

/**
 * Reads `source` eagerly into a queue of at most `max` items; when the
 * consumer is slower than the producer, newer items are dropped and counted
 * instead of growing memory without bound. Reading eagerly also subscribes at
 * once, so events published before the first pull are not missed. `accept`,
 * when given, filters items before they are queued (cheaper than a filtering
 * iterator in front: graphql-yoga's `filter` is a Repeater, several promises a
 * push, per subscriber per event).
 */
export function boundedIterator<T>(source: AsyncIterable<T>, max: number, reporter?: DropReporter, accept?: (item: T) => boolean): BoundedIterator<T> {
  const inner = source[Symbol.asyncIterator]();
  const queue: T[] = [];
  let waiter = null as { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | null;
  let failure = null as { error: unknown } | null;
  let done = false;
  let dropped = 0;

  const finish = () => {
    if (done) return;
    done = true;
    if (dropped) reporter?.onClose(dropped);
  };

  void (async () => {
    try {
      while (!done) {
        const next = await inner.next();
        if (next.done || done) break;
        if (accept && !accept(next.value)) continue;
        if (waiter) {
          const { resolve } = waiter;
          waiter = null;
          resolve({ value: next.value, done: false });
        } else if (queue.length < max) {
          queue.push(next.value);
        } else if (dropped++ === 0) {
          reporter?.onFirstDrop();
        }
      }
    } catch (error) {
      failure = { error };
    }
    finish();
    if (waiter) {
      const pending = waiter;
      waiter = null;
      if (failure) pending.reject(failure.error);
      else pending.resolve({ value: undefined, done: true });
    }
  })();

  const iterator: BoundedIterator<T> = {
    get dropped() {
      return dropped;
    },
    get queued() {
      return queue.length;
    },
    next() {
      if (queue.length) return Promise.resolve({ value: queue.shift()!, done: false });
      if (failure) return Promise.reject(failure.error);
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
      });
    },
    async return() {
      finish();
      queue.length = 0;
      waiter?.resolve({ value: undefined, done: true });
      waiter = null;
      await inner.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return iterator;
}

/**
 * For a transport that never pushes back (graphql-ws sends without awaiting
 * the socket): skips items while the socket's unsent backlog is above
 * `limitBytes`, counting them, so a stalled client cannot fill memory.
 * A plain iterator rather than an async generator: a generator waiting for
 * its next item cannot be returned, so a closed socket would leave it hanging.
 */
export function skipWhileBacklogged<T>(source: AsyncIterable<T>, backlog: () => number, limitBytes: number, reporter?: DropReporter): AsyncIterableIterator<T> {
  const inner = source[Symbol.asyncIterator]();
  let dropped = 0;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (dropped) reporter?.onClose(dropped);
  };
  return {
    async next() {
      for (;;) {
        const result = await inner.next();
        if (result.done || closed) {
          close();
          return { value: undefined, done: true };
        }
        if (backlog() <= limitBytes) return result;
        if (dropped++ === 0) reporter?.onFirstDrop();
      }
    },
    async return() {
      close();
      await inner.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
