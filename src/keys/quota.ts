// Exact per-key request quotas under concurrency, without a database round
// trip per request. The check and the charge are one synchronous step at pick
// time (`used++` before any await), so N concurrent requests against a key
// with R requests left can never pass more than R: the pool stops offering
// the key the moment its reservations reach the limit. An attempt that never
// reached the upstream gives its reservation back; one that did is counted
// (UsageCounters) and stored by the next batch as `quotaUsed = quotaUsed + n`.
//
// Several instances on one PostgreSQL (design, not built yet): each instance
// would lease quota in blocks, e.g. `UPDATE "ApiKey" SET "quotaLeased" =
// "quotaLeased" + :n WHERE "id" = :id AND "quotaLeased" + :n <= "quotaLimit"
// RETURNING "quotaLeased"` (an atomic conditional update: never
// check-then-write), serve reservations from its local block exactly as
// below, lease the next block when the local one runs low, and hand back
// what is unused at shutdown; a lease carries an expiry so a crashed
// instance's block returns to the pool. The sum of leases never exceeds the
// limit, so the total stays exact across instances; the block size trades
// database writes for how much quota can sit idle in one instance.

import type { KeyLifecycle } from './lifecycle.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import type { ApiKeyState } from '../state/types.ts';
import type { UsageCounters } from './usage-counters.ts';
import { CHARGE, REFUND } from '../state/apply-key-change.ts';

export interface QuotaDeps {
  state: GatewayState;
  lifecycle: Pick<KeyLifecycle, 'transition'>;
  usage: UsageCounters;
  log: Logger;
}

export class QuotaGate {
  constructor(private readonly deps: QuotaDeps) {}

  /** Charges one request to a key the pool just offered; pair with refund() or settle(). */
  reserve(key: ApiKeyState): void {
    this.deps.state.apply(key, CHARGE);
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
