// Picking the first key of a request. When no key is usable the client gets
// 503 saying why, with Retry-After when a return time is known; optionally
// (upstream `waitForKeyMs`) the request first waits for the earliest key to
// come back, as long as that is within the wait and the request deadline.

import { performance } from 'node:perf_hooks';
import type { UpstreamRuntime } from '../state/gateway-state.ts';
import type { ApiKeyState } from '../state/types.ts';
import type { PickReason } from './key-pool.ts';
import type { ProxyRequest } from './proxy-request.ts';
import { sendError } from './respond.ts';

/** Wake a little after a return time: the lifecycle's timer brings the key back at that instant. */
const WAKE_SLACK_MS = 5;

export function acquireKey(pr: ProxyRequest, upstream: UpstreamRuntime, deadlineAt: number): ApiKeyState | null | Promise<ApiKeyState | null> {
  const key = upstream.pool.pick(null, pr.model, Date.now());
  return key !== null ? key : waitForKey(pr, upstream, deadlineAt);
}

async function waitForKey(pr: ProxyRequest, upstream: UpstreamRuntime, deadlineAt: number): Promise<ApiKeyState | null> {
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
  if (!pr.clientGone) noKey(pr, upstream, reason);
  return null;
}

function noKey(pr: ProxyRequest, upstream: UpstreamRuntime, r: PickReason): void {
  const parts: string[] = [];
  if (r.total === 0) parts.push('the upstream has no keys');
  if (r.disabled > 0) parts.push(`${r.disabled} disabled`);
  if (r.banned > 0) parts.push(`${r.banned} banned`);
  if (r.exhausted > 0) parts.push(`${r.exhausted} out of quota`);
  if (r.cooling > 0) parts.push(`${r.cooling} cooling down for model ${pr.model}`);
  const retryAt = r.earliestReturnAt;
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
