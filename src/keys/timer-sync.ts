import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import type { KeyLifecycle } from './lifecycle.ts';

/**
 * Cluster mode: a key disabled on another instance must have its return
 * timer here too, so the key comes back on time even if that instance dies
 * (the first instance to claim the return stores it; see KeyLifecycle). The
 * timers are armed from what reaches this instance: a key state change on the
 * bus (another instance's, carried over Redis), and every reload of the state
 * from the database (`config:changed`). Returns the stop function.
 */
export function armTimersOnChanges(deps: { events: EventBus; state: GatewayState; lifecycle: KeyLifecycle; log: Logger }): () => Promise<void> {
  const { events, state, lifecycle, log } = deps;
  const changes = events.subscribe('apiKey:stateChanged')[Symbol.asyncIterator]();
  const reloads = events.subscribe('config:changed')[Symbol.asyncIterator]();
  void (async () => {
    for (let next = await changes.next(); !next.done; next = await changes.next()) {
      const c = next.value;
      if (c.disabledUntil !== null && (c.model !== null || c.to === 'DISABLED')) lifecycle.armTimer(c.keyId, c.model, c.disabledUntil);
    }
  })().catch((error: unknown) => log.error({ err: error }, 'arming return timers from key changes failed'));
  void (async () => {
    for (let next = await reloads.next(); !next.done; next = await reloads.next()) {
      const change = next.value;
      if (change.kind === 'key') {
        const key = state.keys.get(change.id);
        if (key) lifecycle.armTimers(key);
      } else if (change.kind === 'upstream' || change.kind === 'all') lifecycle.restoreTimers();
    }
  })().catch((error: unknown) => log.error({ err: error }, 'arming return timers after a reload failed'));
  return async () => {
    await changes.return?.();
    await reloads.return?.();
  };
}
