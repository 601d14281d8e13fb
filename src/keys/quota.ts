// Exact per-key request quotas under concurrency, without a database round
// trip per request. The check and the charge are one synchronous step at pick
// time (`used++` before any await), so N concurrent requests against a key
// with R requests left can never pass more than R: the pool stops offering
// the key the moment its reservations reach the limit. An attempt that never
// reached the upstream gives its reservation back; one that did is counted
// (UsageCounters) and stored by the next batch as `quotaUsed = quotaUsed + n`.
//
// Several instances on one PostgreSQL (cluster mode): each instance leases
// the quota in blocks (quota-lease.ts) and the charge below also comes out of
// its block (`leaseLeft`), still synchronously; the pool offers a limited key
// only while its block has units, so the total stays exact across instances.

import type { KeyLifecycle } from './lifecycle.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import type { ApiKeyState } from '../state/types.ts';
import type { UsageCounters } from './usage-counters.ts';
import type { QuotaLeases } from './quota-lease.ts';
import { CHARGE, REFUND } from '../state/apply-key-change.ts';

export interface QuotaDeps {
  state: GatewayState;
  lifecycle: Pick<KeyLifecycle, 'transition'>;
  usage: UsageCounters;
  log: Logger;
  /** Cluster mode: the blocks charges come out of; null for a single instance. */
  leases?: QuotaLeases | null;
}

export class QuotaGate {
  constructor(private readonly deps: QuotaDeps) {}

  /** Cluster mode's blocks: a request that finds no key waits for a lease in flight (proxy/key-wait.ts). */
  get leases(): QuotaLeases | null {
    return this.deps.leases ?? null;
  }

  /** Charges one request to a key the pool just offered; pair with refund() or settle(). */
  reserve(key: ApiKeyState): void {
    this.deps.state.apply(key, CHARGE);
    if (key.leaseLeft !== null) this.deps.leases?.charged(key);
  }

  /** The attempt never reached the upstream (connect failure, client gone first): the charge is void. */
  refund(key: ApiKeyState): void {
    this.deps.state.apply(key, REFUND);
  }

  /**
   * The attempt reached the upstream: the charge stands. `failure` is set for a
   * key-attributable failure. A key whose charges reach its limit becomes
   * EXHAUSTED through the lifecycle (a KeyEvent, an event, the stored status).
   */
  settle(key: ApiKeyState, now: number, failure: string | null, requestId: string): void {
    this.deps.usage.attempt(key.id, now, failure);
    if (key.quotaLimit === null || key.used < key.quotaLimit || key.status !== 'ACTIVE') return;
    // Only a key still known to the state: a deleted key needs no event.
    if (!this.deps.state.keys.has(key.id)) return;
    this.deps.lifecycle
      .transition(key.id, 'EXHAUSTED', { actor: 'QUOTA', reason: `quota of ${key.quotaLimit} requests used`, requestId })
      .catch((error: unknown) => this.deps.log.error({ err: error, keyId: key.id, requestId }, 'marking a key exhausted failed'));
  }
}
