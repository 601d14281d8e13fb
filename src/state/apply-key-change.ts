import type { ApiKeyState, KeyStatus } from './types.ts';
import type { UpstreamRuntime } from './gateway-state.ts';

/** One change to a key's in-memory state. */
export type KeyMemoryChange =
  | { type: 'status'; status: KeyStatus; disabledUntil: number | null; reason: string | null; disableCount?: number }
  | { type: 'cooldown'; model: string; until: number }
  | { type: 'cooldownOver'; model: string }
  | { type: 'disableCount'; value: number }
  /** One request charged (+1) or refunded (-1) against the quota. */
  | { type: 'used'; delta: 1 | -1 }
  | { type: 'usedReset' }
  /** Cluster mode: a block of the quota arrived (+n) or went back (-n) (keys/quota-lease.ts). */
  | { type: 'leased'; delta: number }
  /** The key as re-read from the database; `keepUsed` keeps memory's count when it is ahead of the stored one. */
  | { type: 'replace'; fresh: ApiKeyState; keepUsed: boolean };

/** Pre-built so the hot path's quota charge allocates nothing. */
export const CHARGE: KeyMemoryChange = { type: 'used', delta: 1 };
export const REFUND: KeyMemoryChange = { type: 'used', delta: -1 };

/**
 * The only place that mutates an ApiKeyState (after it is first installed)
 * and tells its upstream's KeyPool. The pool learns about changes only
 * through refresh(), so a caller that changed a key by hand and forgot it
 * would leave the pool offering a key it should not, or hiding one it should.
 * O(1) plus the pool's O(log n) refresh: the proxy charges quota through it.
 */
export function applyKeyChange(upstreamsById: ReadonlyMap<string, UpstreamRuntime>, key: ApiKeyState, change: KeyMemoryChange): void {
  switch (change.type) {
    case 'status':
      key.status = change.status;
      key.disabledUntil = change.disabledUntil;
      key.statusReason = change.reason;
      if (change.disableCount !== undefined) key.disableCount = change.disableCount;
      break;
    case 'cooldown':
      // Model cooldowns are read at pick time; the pool's categories do not change.
      key.modelCooldowns.set(change.model, change.until);
      return;
    case 'cooldownOver':
      key.modelCooldowns.delete(change.model);
      return;
    case 'disableCount':
      key.disableCount = change.value;
      return;
    case 'used':
      if (change.delta > 0) key.used++;
      else if (key.used > 0) key.used--;
      // Unlimited keys: `used` changes neither the pool category nor the weight.
      if (key.quotaLimit === null) return;
      // Cluster mode: the charge comes out of this instance's block, a refund goes back into it.
      if (key.leaseLeft !== null) key.leaseLeft -= change.delta;
      break;
    case 'usedReset':
      key.used = 0;
      // The period's leases were cleared with the count: this block belonged to the last one.
      if (key.leaseLeft !== null) key.leaseLeft = 0;
      break;
    case 'leased':
      if (key.leaseLeft !== null) key.leaseLeft = Math.max(0, key.leaseLeft + change.delta);
      break;
    case 'replace':
      replaceKeyState(key, change.fresh, change.keepUsed);
      break;
  }
  upstreamsById.get(key.upstreamId)?.pool.refresh(key.id);
}

/**
 * Copies a re-read key into the object in-flight requests hold (identity is
 * kept on purpose). The caller installs or refreshes the pool: a reloaded
 * upstream builds a new one.
 */
export function replaceKeyState(known: ApiKeyState, fresh: ApiKeyState, keepUsed: boolean): ApiKeyState {
  // This instance counts usage in memory ahead of the batched writes; keep its count.
  if (keepUsed) fresh.used = Math.max(fresh.used, known.used);
  // A block of the quota is this instance's, not the row's; a reset (keepUsed false) voids it with the period.
  fresh.leaseLeft = known.leaseLeft === null ? null : keepUsed ? known.leaseLeft : 0;
  return Object.assign(known, fresh);
}
