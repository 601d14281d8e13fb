// What an event from another instance does here before this instance's
// listeners see it: a key state change is applied to the in-memory key (the
// origin stored it already), a configuration change is re-read from the
// database, as the local commit does. Then it is delivered on the local bus,
// marked remote, so dashboards get it and origin-only side effects
// (notifications) are skipped.

import type { ConfigChanged, EventBus, KeyStateChange } from '../events/bus.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import { reloadChanged } from '../state/reload-change.ts';
import type { RemoteEvent } from './redis-transport.ts';

/**
 * The newest change seen per key (and per key and model), local or remote,
 * by its `at`. Two instances changing one key at nearly the same moment get
 * each other's events in different orders; both keep the newer one, so they
 * agree instead of each ending with the other's. Also tells the full reload
 * which keys changed by event while it read the database.
 */
export class KeyChangeClock {
  private readonly newest = new Map<string, number>();
  /** When (local clock) each key last changed by event. */
  private readonly touched = new Map<string, number>();

  /** Records the change; false if a newer one for the same key (and model) was seen already. */
  observe(change: KeyStateChange): boolean {
    const id = change.model === null ? change.keyId : `${change.keyId}\u0000${change.model}`;
    this.touched.set(change.keyId, Date.now());
    if ((this.newest.get(id) ?? -Infinity) > change.at) return false;
    this.newest.set(id, change.at);
    return true;
  }

  touchedSince(keyId: string, since: number): boolean {
    return (this.touched.get(keyId) ?? -Infinity) >= since;
  }

  /** Keys that are gone: nothing to order any more. */
  forget(keep: (keyId: string) => boolean): void {
    for (const id of this.newest.keys()) if (!keep(id.split('\u0000')[0]!)) this.newest.delete(id);
    for (const id of this.touched.keys()) if (!keep(id)) this.touched.delete(id);
  }
}

/** Applies another instance's key change to the in-memory key through the one mutator (GatewayState.apply). */
export function applyRemoteKeyChange(state: GatewayState, clock: KeyChangeClock, change: KeyStateChange): void {
  const key = state.keys.get(change.keyId);
  if (!key || !clock.observe(change)) return;
  if (change.model !== null) {
    // A model cooldown starts with its end time and ends without one.
    if (change.disabledUntil !== null) state.apply(key, { type: 'cooldown', model: change.model, until: change.disabledUntil });
    else state.apply(key, { type: 'cooldownOver', model: change.model });
    return;
  }
  // An admin's re-enable forgets the escalation count (as the lifecycle stores it); other counts come with the next reload.
  const disableCount = change.to === 'ACTIVE' && change.actor === 'ADMIN' ? 0 : undefined;
  state.apply(key, { type: 'status', status: change.to, disabledUntil: change.disabledUntil, reason: change.reason, ...(disableCount === undefined ? {} : { disableCount }) });
}

export interface RemoteEventDeps {
  bus: EventBus;
  state: GatewayState;
  prisma: PrismaClient;
  clock: KeyChangeClock;
  log: Logger;
  /** Drops a key's charges not stored yet: another instance reset its quota. */
  discardQuota?(keyId: string): void;
}

/**
 * Handles batches from other instances one after the other, each event in
 * order: a configuration reload (a database read) holds the events behind
 * it, so a dashboard never sees a key before the state knows it.
 */
export function remoteEventReceiver(deps: RemoteEventDeps): { receive(events: RemoteEvent[]): void; idle(): Promise<void> } {
  let chain: Promise<void> = Promise.resolve();
  const handle = async (events: RemoteEvent[]) => {
    for (const [topic, payload] of events) {
      try {
        if (topic === 'apiKey:stateChanged') applyRemoteKeyChange(deps.state, deps.clock, payload as KeyStateChange);
        else if (topic === 'config:changed') {
          const change = payload as ConfigChanged;
          if (change.kind === 'quotaReset') for (const id of change.keyIds) deps.discardQuota?.(id);
          await reloadChanged(deps.prisma, deps.state, change);
        }
      } catch (error) {
        // The periodic full reload brings the state back; the event is still delivered.
        deps.log.warn({ err: error, topic }, 'applying an event from another instance failed');
      }
      deps.bus.deliverRemote(topic, payload as never);
    }
  };
  return {
    receive(events) {
      chain = chain.then(() => handle(events));
    },
    idle: () => chain,
  };
}
