import type { Client } from 'graphql-ws';
import { print } from 'graphql';
import { graphql } from '../../../generated/index.ts';
import type { Gateway } from '../../../../src/gateway.ts';
import { subscribed, wsClient } from '../../graphql/support.ts';

const JobsKeyStateChanged = graphql(`
  subscription JobsKeyStateChanged($upstreamId: ID) {
    keyStateChanged(upstreamId: $upstreamId) { keyId keyName from to actor reason model disabledUntil }
  }
`);

export interface SeenChange {
  keyId: string;
  keyName: string;
  from: string;
  to: string;
  actor: string;
  reason: string | null;
  model: string | null;
  disabledUntil: string | null;
}

/**
 * A dashboard's view: keyStateChanged over graphql-ws on a real socket.
 * `listening` resolves once the server side has subscribed to the bus, so
 * nothing published after it can be missed.
 */
export function watchKeyChanges(gateway: Gateway, upstreamId?: string) {
  const client: Client = wsClient(gateway.url);
  const changes: SeenChange[] = [];
  const waiters: Array<() => void> = [];
  const listening = subscribed(gateway.events, 'apiKey:stateChanged');
  const stop = client.subscribe<{ keyStateChanged: SeenChange }>(
    { query: print(JobsKeyStateChanged), variables: { upstreamId } },
    {
      next: (msg) => {
        if (msg.data) changes.push(msg.data.keyStateChanged);
        for (const wake of waiters.splice(0)) wake();
      },
      error: () => {},
      complete: () => {},
    },
  );
  return {
    changes,
    listening,
    /** The first change matching `pred`, seen already or still to come. */
    async next(pred: (c: SeenChange) => boolean): Promise<SeenChange> {
      for (;;) {
        const found = changes.find(pred);
        if (found) return found;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    async close(): Promise<void> {
      stop();
      await client.dispose();
    },
  };
}
