import type { PrismaClient } from '../generated/prisma/client.ts';
import type { ConfigChanged, EventBus } from '../events/bus.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import { reloadChanged } from '../state/reload-change.ts';

/** After an admin write is stored: reload what it touched into memory, then publish `config:changed`. */
export type Commit = (change: ConfigChanged) => Promise<void>;

/**
 * The one "store -> reload -> publish" step of every admin write, so no
 * service can publish a change the in-memory state does not show yet (the
 * proxy and the listeners read memory) or forget to publish one.
 */
export function createCommit(deps: { prisma: PrismaClient; state: GatewayState; events: EventBus }): Commit {
  const { prisma, state, events } = deps;
  return async (change) => {
    await reloadChanged(prisma, state, change);
    events.publish('config:changed', change);
  };
}
