// Relations of rows that no query loaded: the request logs the bus publishes to
// `requestLogged` and the key state changes it publishes to `keyStateChanged`. Pothos' own fallback for such a row reloads the row with the
// relation, once per subscriber per event (Prisma merges the subscribers'
// reloads of one event at best), so a dashboard watching a gateway at
// thousands of requests a second would cost thousands of queries a second,
// each of them CPU on the proxy's event loop. Here lookups made in the same
// burst of promise jobs share one `findMany({ where: { id: { in } } })` per
// model and selection, and a row, once loaded, serves every event that names
// it for a second. A key, upstream or token seen in a live feed is thus at most
// a second older than the database (its batched counters already lag that
// much), and any admin change or key state change starts afresh.

import type { EventBus } from '../events/bus.ts';

/** What a batch needs of a Prisma model delegate. */
export interface RowDelegate {
  findMany(args: Record<string, unknown>): Promise<Array<{ id: string }>>;
}

interface Waiter {
  resolve: (row: unknown) => void;
  reject: (error: unknown) => void;
}

interface Batch {
  delegate: RowDelegate;
  query: Record<string, unknown>;
  waiting: Map<string, Waiter[]>;
}

export const PUBLISHED_RELATION_TTL_MS = 1000;

export class PublishedRelations {
  private readonly cache = new Map<string, Promise<unknown>>();
  private cacheStartedAt = 0;
  private readonly batches = new Map<string, Batch>();
  private scheduled = false;

  constructor(private readonly ttlMs = PUBLISHED_RELATION_TTL_MS) {}

  /**
   * The row of `model` with this id, shaped by Pothos' `query` (the select or
   * include for the fields asked of it), or null when there is none.
   */
  load<T>(model: string, delegate: RowDelegate, query: Record<string, unknown>, id: string | null): Promise<T | null> {
    if (id === null) return Promise.resolve(null);
    const now = Date.now();
    // The whole cache goes at once: staleness stays bounded, and so does memory, without a sweep.
    if (now - this.cacheStartedAt >= this.ttlMs) this.forget(now);
    // Pothos builds `query` from the selection, so the same selection gives the same text.
    const shape = `${model}\0${JSON.stringify(query)}`;
    const key = `${shape}\0${id}`;
    let row = this.cache.get(key);
    if (!row) {
      row = this.enqueue(shape, delegate, query, id);
      this.cache.set(key, row);
      const loaded = row;
      // A failed load is not remembered: the next event tries again.
      row.catch(() => this.cache.get(key) === loaded && this.cache.delete(key));
    }
    return row as Promise<T | null>;
  }

  /** Drops every remembered row (an admin change or a key state change). */
  forget(now = Date.now()): void {
    this.cache.clear();
    this.cacheStartedAt = now;
  }

  /** Forgets remembered rows whenever configuration or a key's state changes; returns a stop function. */
  watch(events: EventBus): () => void {
    const iterators = (['config:changed', 'apiKey:stateChanged'] as const).map((topic) => events.subscribe(topic)[Symbol.asyncIterator]());
    for (const iterator of iterators) {
      void (async () => {
        while (!(await iterator.next()).done) this.forget();
      })();
    }
    return () => {
      for (const iterator of iterators) void iterator.return?.();
    };
  }

  private enqueue(shape: string, delegate: RowDelegate, query: Record<string, unknown>, id: string): Promise<unknown> {
    let batch = this.batches.get(shape);
    if (!batch) this.batches.set(shape, (batch = { delegate, query, waiting: new Map() }));
    let waiters = batch.waiting.get(id);
    if (!waiters) batch.waiting.set(id, (waiters = []));
    if (!this.scheduled) {
      this.scheduled = true;
      // After the promise jobs queued now have run, as DataLoader schedules: each subscriber
      // resolves an event in its own promise chain and all of them should join one batch,
      // yet no event should wait for the next turn of the event loop.
      void Promise.resolve().then(() => process.nextTick(() => this.dispatch()));
    }
    const list = waiters;
    return new Promise((resolve, reject) => list.push({ resolve, reject }));
  }

  private dispatch(): void {
    const batches = [...this.batches.values()];
    this.batches.clear();
    this.scheduled = false;
    for (const { delegate, query, waiting } of batches) {
      // Rows are matched to waiters by id, so a narrowed select must still carry it.
      const select = query.select as Record<string, unknown> | undefined;
      const shaped = select ? { ...query, select: { ...select, id: true } } : query;
      delegate.findMany({ ...shaped, where: { id: { in: [...waiting.keys()] } } }).then(
        (rows) => {
          const byId = new Map(rows.map((row) => [row.id, row]));
          for (const [id, waiters] of waiting) for (const w of waiters) w.resolve(byId.get(id) ?? null);
        },
        (error: unknown) => {
          for (const waiters of waiting.values()) for (const w of waiters) w.reject(error);
        },
      );
    }
  }
}
