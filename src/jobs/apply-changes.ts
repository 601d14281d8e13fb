import type { EventBus } from '../events/bus.ts';
import type { KeyLifecycle } from '../keys/lifecycle.ts';
import type { UsageCounters } from '../keys/usage-counters.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import type { KeysChangedMessage } from './messages.ts';

export interface ApplyDeps {
  state: GatewayState;
  events: EventBus;
  lifecycle: Pick<KeyLifecycle, 'flushed'>;
  /** The proxy's pending usage deltas; absent until the proxy wires its counters in. */
  usage?: Pick<UsageCounters, 'discardQuota'> | null;
}

/**
 * Applies a worker's key changes in the main thread. The worker already
 * stored the key rows and their KeyEvents (one transaction, guarded by the
 * state it read), so KeyEvent rows are written exactly once, by the worker;
 * here the in-memory keys are re-read and the stored events published, so
 * `apiKey:stateChanged` subscribers (dashboards) see job effects like any other.
 */
export async function applyKeysChanged(deps: ApplyDeps, message: KeysChangedMessage): Promise<void> {
  // The lifecycle writes in order on a chain; let what it queued land first,
  // or re-reading a key could bring back a state it is about to overwrite.
  await deps.lifecycle.flushed();
  for (const { keyId, usedReset } of message.keys) {
    // A reset period starts at 0 in memory and in the database: drop the
    // charges not stored yet, then take the stored count (0) over memory's.
    if (usedReset) deps.usage?.discardQuota(keyId);
    await deps.state.reloadKey(keyId, { takeUsedFromDb: usedReset });
  }
  const reset = message.keys.filter((k) => k.usedReset).map((k) => k.keyId);
  // Other instances (cluster mode) count the new period from 0 too.
  if (reset.length) deps.events.publish('config:changed', { kind: 'quotaReset', keyIds: reset });
  for (const event of message.events) deps.events.publish('apiKey:stateChanged', event);
}
