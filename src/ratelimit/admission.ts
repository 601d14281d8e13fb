// The proxy's side of client limits (access token and upstream): checked once
// a request's token and upstream are known, before its body is read or any
// key is touched; a refused request is answered 429 here and never reaches
// the upstream. Admitted requests carry the X-RateLimit-* headers of their
// tightest limit and give their slots back when they end.

import { randomUUID } from 'node:crypto';
import { rateLimitedError } from '../proxy/proxy-errors.ts';
import type { ProxyRequest } from '../proxy/proxy-request.ts';
import { sendError } from '../proxy/respond.ts';
import type { Blocked, LimitCounter } from './limit-counter.ts';
import type { RateLimits } from './rate-limits.ts';

const seconds = (ms: number): number => Math.max(0, Math.ceil(ms / 1000));
const NONE: readonly LimitCounter[] = [];
/** Cluster mode: each admitted request's concurrency slot in Redis, unique in the cluster (a client may repeat a request id). */
const tickets = new WeakMap<ProxyRequest, string>();

function ticketOf(pr: ProxyRequest): string {
  const ticket = randomUUID();
  tickets.set(pr, ticket);
  return ticket;
}

/** The X-RateLimit-* of the limit with the least room left. */
function headersFor(held: readonly LimitCounter[], now: number): Record<string, string> {
  let best = held[0].headroom(now);
  for (let i = 1; i < held.length; i++) {
    const h = held[i].headroom(now);
    if (h.remaining < best.remaining) best = h;
  }
  return { 'x-ratelimit-limit': String(best.limit), 'x-ratelimit-remaining': String(best.remaining), 'x-ratelimit-reset': String(seconds(best.resetAt - now)) };
}

/** false when the request was refused (and answered); a promise in cluster mode, where Redis decides. */
export function admitClient(limits: RateLimits, pr: ProxyRequest): boolean | Promise<boolean> {
  if (!limits.clientLimits) return true;
  const tokenLimits = pr.token !== null ? limits.limitsFor('ACCESS_TOKEN', pr.token.id) : NONE;
  const upstreamLimits = limits.limitsFor('UPSTREAM', pr.upstream!.config.id);
  const held = tokenLimits.length === 0 ? upstreamLimits : upstreamLimits.length === 0 ? tokenLimits : [...tokenLimits, ...upstreamLimits];
  if (held.length === 0) return true;
  const now = Date.now();
  const blocked = limits.shared !== null ? limits.shared.admit(held, now, ticketOf(pr)) : limits.admit(held, now);
  if (blocked instanceof Promise) return blocked.then((b) => admitted(limits, pr, held, b, Date.now()));
  return admitted(limits, pr, held, blocked, now);
}

function admitted(limits: RateLimits, pr: ProxyRequest, held: readonly LimitCounter[], blocked: Blocked | null, now: number): boolean {
  if (blocked !== null) {
    limits.refused[blocked.counter.rule.scope]++;
    refuse(pr, blocked, now);
    return false;
  }
  pr.limitsHeld = held;
  pr.rateHeaders = headersFor(held, now);
  return true;
}

export function refuse(pr: ProxyRequest, blocked: Blocked, now: number): void {
  const rule = blocked.counter.rule;
  const head = blocked.counter.headroom(now);
  const retryAfter = Math.max(1, seconds(blocked.retryAt - now));
  const what = blocked.counter.describe(blocked.kind);
  const error = rateLimitedError(`rate limited by the ${what}; retry in ${retryAfter} s`);
  pr.outcome = 'rate_limited';
  pr.error = `rate limited: ${what}`;
  pr.measureOverhead();
  sendError(
    pr,
    error.code,
    error.message,
    { 'retry-after': String(retryAfter), 'x-ratelimit-limit': String(head.limit), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(retryAfter) },
    { limit: { id: rule.id, scope: rule.scope, targetId: rule.targetId, kind: blocked.kind }, retry_after: retryAfter },
  );
}

/** After the response: concurrency slots back, tokens charged (approximate by this one request). */
export function clientRequestEnded(limits: RateLimits, pr: ProxyRequest): void {
  const held = pr.limitsHeld;
  if (held !== null) {
    if (limits.shared !== null) void limits.shared.release(held, tickets.get(pr));
    else limits.release(held);
  }
  const tokens = pr.usage?.totalTokens ?? 0;
  if (tokens <= 0 || (held === null && !limits.keyLimits)) return;
  const now = Date.now();
  if (held !== null) {
    if (limits.shared !== null) void limits.shared.charge(held, now, tokens);
    else limits.charge(held, now, tokens);
  }
  if (pr.key !== null) {
    const keyLimits = limits.limitsFor('KEY', pr.key.id);
    if (keyLimits.length > 0) {
      // Cluster mode: charged in Redis too, where the key gate's shared count reads it.
      if (limits.shared !== null) void limits.shared.charge(keyLimits, now, tokens);
      else limits.charge(keyLimits, now, tokens);
    }
  }
}
