// One operator limit and its live counters. Checks and records are O(1)
// (the token window expires old seconds at most once a second).

import { createRequestWindow, TokenWindow, type RequestWindow } from './windows.ts';

export const RATE_LIMIT_SCOPES = ['ACCESS_TOKEN', 'UPSTREAM', 'KEY'] as const;
export type RateLimitScope = (typeof RATE_LIMIT_SCOPES)[number];

export interface RateLimitRule {
  id: string;
  scope: RateLimitScope;
  targetId: string;
  requests: number | null;
  perSeconds: number | null;
  concurrent: number | null;
  tokensPerMinute: number | null;
}

export type LimitKind = 'requests' | 'concurrent' | 'tokensPerMinute';

/** A limit with no room: which part, and when it has room again (epoch ms). */
export interface Blocked {
  counter: LimitCounter;
  kind: LimitKind;
  retryAt: number;
}

/** What X-RateLimit-* report for one limit. */
export interface Headroom {
  limit: number;
  remaining: number;
  resetAt: number;
}

/** Concurrency has no known return time; clients are told to try again in this long. */
export const CONCURRENCY_RETRY_MS = 1000;

export class LimitCounter {
  readonly window: RequestWindow | null;
  readonly tokens: TokenWindow | null;
  inFlight = 0;

  constructor(readonly rule: RateLimitRule) {
    this.window = rule.requests !== null ? createRequestWindow(rule.requests, (rule.perSeconds ?? 1) * 1000) : null;
    this.tokens = rule.tokensPerMinute !== null ? new TokenWindow(rule.tokensPerMinute) : null;
  }

  /** Whether a reload may keep this counter (same numbers), so a config change does not reset windows. */
  sameAs(rule: RateLimitRule): boolean {
    const r = this.rule;
    return r.requests === rule.requests && r.perSeconds === rule.perSeconds && r.concurrent === rule.concurrent && r.tokensPerMinute === rule.tokensPerMinute && r.targetId === rule.targetId && r.scope === rule.scope;
  }

  /** null when one more request fits now; otherwise what blocks it. Allocates only when blocked. */
  check(now: number): Blocked | null {
    const c = this.rule.concurrent;
    if (c !== null && this.inFlight >= c) return { counter: this, kind: 'concurrent', retryAt: now + CONCURRENCY_RETRY_MS };
    if (this.window !== null) {
      const at = this.window.roomAt(now);
      if (at > now) return { counter: this, kind: 'requests', retryAt: at };
    }
    if (this.tokens !== null && this.tokens.used(now) >= this.tokens.limit) return { counter: this, kind: 'tokensPerMinute', retryAt: this.tokens.roomAt(now) };
    return null;
  }

  /** Epoch ms when a request fits (<= now: it fits now), without allocating: the key pool asks this per candidate. */
  roomAt(now: number): number {
    const c = this.rule.concurrent;
    if (c !== null && this.inFlight >= c) return now + CONCURRENCY_RETRY_MS;
    let at = this.window !== null ? this.window.roomAt(now) : 0;
    if (this.tokens !== null && this.tokens.used(now) >= this.tokens.limit) at = Math.max(at, this.tokens.roomAt(now));
    return at;
  }

  take(now: number): void {
    this.window?.record(now);
    if (this.rule.concurrent !== null) this.inFlight++;
  }

  release(): void {
    if (this.rule.concurrent !== null && this.inFlight > 0) this.inFlight--;
  }

  charge(now: number, tokens: number): void {
    this.tokens?.charge(now, tokens);
  }

  /** The tightest part of this limit, for response headers. */
  headroom(now: number): Headroom {
    let best: Headroom | null = null;
    if (this.window !== null) best = { limit: this.window.limit, remaining: this.window.remaining(now), resetAt: this.window.resetAt(now) };
    const c = this.rule.concurrent;
    if (c !== null && (best === null || c - this.inFlight < best.remaining)) best = { limit: c, remaining: Math.max(0, c - this.inFlight), resetAt: now };
    const t = this.tokens;
    if (t !== null) {
      const left = Math.max(0, t.limit - t.used(now));
      if (best === null || left < best.remaining) best = { limit: t.limit, remaining: left, resetAt: left > 0 ? now + 60_000 : t.roomAt(now) };
    }
    return best ?? { limit: 0, remaining: 0, resetAt: now };
  }

  describe(kind: LimitKind): string {
    const r = this.rule;
    const what = kind === 'requests' ? `${r.requests} requests per ${r.perSeconds ?? 1} s` : kind === 'concurrent' ? `${r.concurrent} concurrent requests` : `${r.tokensPerMinute} tokens per minute`;
    return `${r.scope} limit ${r.id} (${what})`;
  }
}
