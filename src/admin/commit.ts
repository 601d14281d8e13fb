import type { PrismaClient } from '../generated/prisma/client.ts';
import type { ConfigChanged, EventBus } from '../events/bus.ts';
import type { GatewayState } from '../state/gateway-state.ts';

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
    switch (change.kind) {
      case 'upstream':
        await state.reloadUpstream(change.id);
        break;
      case 'key':
        // A deleted key is removed, a changed one re-read.
        await state.reloadKey(change.id);
        break;
      case 'rules':
        await state.reloadRules();
        break;
      case 'tokens':
        await state.reloadTokens();
        break;
      case 'all': {
        await state.reloadRules();
        // Upstreams known before the write and those stored now: deleted ones leave memory, new ones enter.
        const stored = (await prisma.upstream.findMany({ select: { id: true } })).map((u) => u.id);
        for (const id of new Set([...state.upstreamsById.keys(), ...stored])) await state.reloadUpstream(id);
        await state.reloadTokens();
        await state.limits.load();
        break;
      }
    }
    events.publish('config:changed', change);
  };
}
