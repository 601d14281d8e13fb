// Picking the first key of a request. When no key is usable the client gets
// 503 saying why, with Retry-After when a return time is known; optionally
// (upstream `waitForKeyMs`) the request first waits for the earliest key to
// come back, as long as that is within the wait and the request deadline.

import { performance } from 'node:perf_hooks';
import type { UpstreamRuntime } from '../state/gateway-state.ts';
import type { ApiKeyState, UpstreamConfig } from '../state/types.ts';
import type { PickReason } from '../state/key-pool.ts';
import type { ProxyRequest } from './proxy-request.ts';
import { rateLimitedError } from './proxy-errors.ts';
import { sendError } from './respond.ts';
import type { QuotaLeases } from '../keys/quota-lease.ts';

/** Wake a little after a return time: the lifecycle's timer brings the key back at that instant. */
const WAKE_SLACK_MS = 5;

type QuotaResetAt = (upstream: UpstreamConfig, now: number) => number | null;

export function acquireKey(pr: ProxyRequest, upstream: UpstreamRuntime, deadlineAt: number, quotaResetAt?: QuotaResetAt, leases?: QuotaLeases | null): ApiKeyState | null | Promise<ApiKeyState | null> {
  const key = upstream.pool.pick(null, pr.model, Date.now());
  if (key !== null) return key;
  return leases ? waitForBlock(pr, upstream, deadlineAt, leases, quotaResetAt) : waitForKey(pr, upstream, deadlineAt, quotaResetAt);
}

/**
 * Cluster mode: limited keys whose block of the quota is empty are not
 * offered until a block is leased; a request that found no key waits for
 * those leases (one database round trip), never past its deadline.
 */
async function waitForBlock(pr: ProxyRequest, upstream: UpstreamRuntime, deadlineAt: number, leases: QuotaLeases, quotaResetAt?: QuotaResetAt): Promise<ApiKeyState | null> {
  for (;;) {
    const arrived = pr.clientGone ? null : leases.whenLeased(upstream, deadlineAt - performance.now());
    if (arrived === null || !(await arrived)) break;
    const key = upstream.pool.pick(null, pr.model, Date.now());
    if (key !== null) return key;
  }
  return waitForKey(pr, upstream, deadlineAt, quotaResetAt);
}

async function waitForKey(pr: ProxyRequest, upstream: UpstreamRuntime, deadlineAt: number, quotaResetAt?: QuotaResetAt): Promise<ApiKeyState | null> {
  let key: ApiKeyState | null = null;
  const waitMs = Math.min(upstream.config.waitForKeyMs, deadlineAt - performance.now());
  const waitUntil = Date.now() + waitMs;
  let reason = upstream.pool.pickReason(pr.model, Date.now());
  while (waitMs > 0 && reason.earliestReturnAt !== null && reason.earliestReturnAt <= waitUntil && !pr.clientGone) {
    await pr.sleep(Math.max(1, reason.earliestReturnAt - Date.now() + WAKE_SLACK_MS));
    key = upstream.pool.pick(null, pr.model, Date.now());
    if (key !== null) return key;
    reason = upstream.pool.pickReason(pr.model, Date.now());
  }
  if (!pr.clientGone) noKey(pr, upstream, reason, returnAt(upstream, reason, quotaResetAt));
  return null;
}

/**
 * When the first key comes back. An EXHAUSTED key often has no period end
 * stored yet (or one the quota-reset job has not reached), yet the job's next
 * run for this upstream is known: that is when its quota returns.
 */
function returnAt(upstream: UpstreamRuntime, r: PickReason, quotaResetAt: QuotaResetAt | undefined): number | null {
  const stored = r.earliestReturnAt;
  const now = Date.now();
  const reset = r.exhausted > 0 && quotaResetAt ? quotaResetAt(upstream.config, now) : null;
  if (reset === null) return stored;
  // A stored time already past belongs to a key the job has not reset yet: its next run is the answer.
  return stored === null || stored <= now ? reset : Math.min(stored, reset);
}

function noKey(pr: ProxyRequest, upstream: UpstreamRuntime, r: PickReason, retryAt: number | null): void {
  if (r.rateLimited > 0 && r.rateLimited + r.cooling >= r.usable) return everyKeyLimited(pr, upstream, r);
  const parts: string[] = [];
  if (r.total === 0) parts.push('the upstream has no keys');
  if (r.disabled > 0) parts.push(`${r.disabled} disabled`);
  if (r.banned > 0) parts.push(`${r.banned} banned`);
  if (r.exhausted > 0) parts.push(`${r.exhausted} out of quota`);
  if (r.cooling > 0) parts.push(`${r.cooling} cooling down for model ${pr.model}`);
  const retrySeconds = retryAt === null ? null : Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
  const when = retryAt === null ? '' : `; the first key returns at ${new Date(retryAt).toISOString()}`;
  pr.outcome = 'no_key';
  pr.error = `no usable key: ${parts.join(', ')}`;
  pr.measureOverhead();
  sendError(pr, 'NO_USABLE_KEY', `no usable key for upstream "${upstream.config.name}": ${parts.join(', ')}${when}`, retrySeconds === null ? null : { 'retry-after': String(retrySeconds) }, {
    keys: { total: r.total, usable: r.usable, disabled: r.disabled, banned: r.banned, exhausted: r.exhausted, cooling: r.cooling },
    retry_at: retryAt === null ? null : new Date(retryAt).toISOString(),
  });
}

/** Every usable key is at its own rate limit (or the provider's): 429, with the earliest time one has room. */
function everyKeyLimited(pr: ProxyRequest, upstream: UpstreamRuntime, r: PickReason): void {
  const retryAt = r.earliestReturnAt ?? Date.now() + 1000;
  const retrySeconds = Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
  const error = rateLimitedError(`every key of upstream "${upstream.config.name}" is at its rate limit; the first has room at ${new Date(retryAt).toISOString()}`);
  upstream.pool.noteEveryKeyLimited();
  pr.outcome = 'rate_limited';
  pr.error = `rate limited: ${r.rateLimited} keys at their limit`;
  pr.measureOverhead();
  sendError(pr, error.code, error.message, { 'retry-after': String(retrySeconds) }, {
    limit: { scope: 'KEY', kind: 'keys' },
    keys: { total: r.total, usable: r.usable, rateLimited: r.rateLimited, cooling: r.cooling },
    retry_at: new Date(retryAt).toISOString(),
    retry_after: retrySeconds,
  });
}
