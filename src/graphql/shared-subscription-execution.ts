// Live subscribers watching the same feed with the same selection share one
// execution per event. graphql-js (and Yoga's executor) run a subscription's
// selection set once per subscriber per event: with 50 dashboards open, every
// stored request-log row was executed (relations included) 50 times. Here each
// subscriber still has its own source stream (its own bus listener, filter and
// bounded buffer, so a slow subscriber loses only its own events, counted, and
// each gets every event once), but the execution of an event is remembered by
// the event object itself (the bus hands one object to every listener) and the
// operation: the second subscriber of the same (document, variables, operation
// name) gets the first one's result. The result is read only by the transports
// (serialised per subscriber), and Yoga's per-subscriber hooks (error masking)
// still see each result. The memory is a WeakMap on the event, so it lives as
// long as some subscriber's buffer still holds that event.

import { createRequire } from 'node:module';
import { print, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

// The schema's own copy of graphql: the package ships CommonJS and ESM, Node's
// import (and so Pothos and Yoga) loads the CommonJS one, while a bundler or
// vitest may hand this file the ESM one, whose execute refuses the schema as
// "from another realm". require() names the same copy everywhere.
const { createSourceEventStream, execute } = createRequire(import.meta.url)('graphql') as typeof import('graphql');

type Results = Map<string, ExecutionResult | Promise<ExecutionResult>>;

const printed = new WeakMap<DocumentNode, string>();

function operationKey(args: ExecutionArgs): string {
  let text = printed.get(args.document);
  if (text === undefined) printed.set(args.document, (text = print(args.document)));
  return `${args.operationName ?? ''}\0${JSON.stringify(args.variableValues ?? {})}\0${text}`;
}

/** Maps each item of `source` through `map`, forwarding return() so the source's listener goes when the subscriber does. */
function mapIterable<T, U>(source: AsyncIterable<T>, map: (item: T) => U | Promise<U>): AsyncIterableIterator<U> {
  const inner = source[Symbol.asyncIterator]();
  return {
    async next() {
      const item = await inner.next();
      return item.done ? { value: undefined, done: true } : { value: await map(item.value), done: false };
    },
    async return() {
      await inner.return?.();
      return { value: undefined, done: true };
    },
    async throw(error: unknown) {
      if (inner.throw) return inner.throw(error) as never;
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** The subscribe function: graphql-js's source stream, and one shared execution per event and operation. */
export function sharedSubscribe(memo = new WeakMap<object, Results>()) {
  return async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
    const key = operationKey(args);
    return mapIterable(source as AsyncIterable<unknown>, (payload) => {
      // Events that are not objects (none today) cannot key a WeakMap: executed each time.
      if (typeof payload !== 'object' || payload === null) return execute({ ...args, rootValue: payload });
      let results = memo.get(payload);
      if (results === undefined) memo.set(payload, (results = new Map()));
      let result = results.get(key);
      if (result === undefined) {
        result = execute({ ...args, rootValue: payload });
        results.set(key, result);
      }
      return result;
    });
  };
}

/** Installs sharedSubscribe for every subscription, whatever the transport (SSE and graphql-ws both go through envelop). */
export function useSharedSubscriptionExecution(): Plugin {
  const subscribe = sharedSubscribe();
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe as never);
    },
  };
}
