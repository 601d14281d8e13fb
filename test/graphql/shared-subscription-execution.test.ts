// Subscribers of the same operation share one execution per event, and each
// still gets every event of its own stream once, with its own filter.
import { parse } from 'graphql';
import { createPubSub, createSchema, filter, pipe } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { sharedSubscribe } from '../../src/graphql/shared-subscription-execution.ts';

interface Event {
  n: number;
  kind: string;
}

function setup() {
  const pubsub = createPubSub<{ tick: [Event] }>();
  let resolved = 0;
  const schema = createSchema({
    typeDefs: `type Query { ok: Boolean } type Tick { n: Int! doubled: Int! } type Subscription { tick(kind: String): Tick! }`,
    resolvers: {
      Subscription: {
        tick: {
          subscribe: (_: unknown, args: { kind?: string }) => pipe(pubsub.subscribe('tick'), filter((e: Event) => !args.kind || e.kind === args.kind)),
          resolve: (e: Event) => e,
        },
      },
      Tick: { doubled: (e: Event) => (resolved++, e.n * 2) },
    },
  });
  return { pubsub, schema, resolved: () => resolved };
}

async function take(iterator: AsyncIterator<unknown>, count: number): Promise<unknown[]> {
  const got: unknown[] = [];
  while (got.length < count) got.push((await iterator.next()).value);
  return got;
}

describe('shared subscription execution', () => {
  it('executes an event once for every subscriber of the same operation and variables, once per distinct variables', async () => {
    const { pubsub, schema, resolved } = setup();
    const subscribe = sharedSubscribe();
    const document = parse('subscription($kind: String) { tick(kind: $kind) { n doubled } }');
    const same = await Promise.all(Array.from({ length: 5 }, () => subscribe({ schema, document, variableValues: {} }) as Promise<AsyncIterableIterator<unknown>>));
    // Parsed again (another document object with the same text) and with a filter: its own executions.
    const errorsOnly = (await subscribe({ schema, document: parse('subscription($kind: String) { tick(kind: $kind) { n doubled } }'), variableValues: { kind: 'error' } })) as AsyncIterableIterator<unknown>;
    const events: Event[] = Array.from({ length: 10 }, (_, n) => ({ n, kind: n % 3 === 0 ? 'error' : 'ok' }));
    const all = Promise.all(same.map((s) => take(s, 10)));
    const errors = take(errorsOnly, 4);
    for (const e of events) pubsub.publish('tick', e);
    const expected = events.map((e) => ({ data: { tick: { n: e.n, doubled: e.n * 2 } } }));
    for (const got of await all) expect(got).toEqual(expected);
    expect(await errors).toEqual(expected.filter((_, n) => n % 3 === 0));
    // 10 events for the five alike, 4 for the filtered one.
    expect(resolved()).toBe(14);

    // One subscriber leaving ends its stream only.
    await same[0]!.return!();
    expect(await same[0]!.next()).toEqual({ value: undefined, done: true });
    const later = take(same[1]!, 1);
    pubsub.publish('tick', { n: 99, kind: 'ok' });
    expect(await later).toEqual([{ data: { tick: { n: 99, doubled: 198 } } }]);
    for (const s of [...same, errorsOnly]) await s.return!();
  });

  it('answers a subscribe error as a result, not a stream', async () => {
    const { schema } = setup();
    const result = await sharedSubscribe()({ schema, document: parse('subscription { tick(kind: 1) { n } }') });
    expect(Symbol.asyncIterator in (result as object)).toBe(false);
    expect((result as { errors?: unknown[] }).errors?.length).toBeGreaterThan(0);
  });
});
