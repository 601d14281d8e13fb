// The counters' interface. The in-memory implementation (rate-limits.ts)
// answers synchronously, so the proxy pays no promise per check; a shared
// (Redis) implementation for several instances may answer with a promise,
// and callers await only when they get one, as forward.ts does for keys.

import type { Blocked, LimitCounter } from './limit-counter.ts';

export type MaybePromise<T> = T | Promise<T>;

export interface RateLimiter {
  /** Takes one request from every limit, or from none: null when admitted, else the first limit that has no room. */
  admit(limits: readonly LimitCounter[], now: number, ticket?: string): MaybePromise<Blocked | null>;
  /** A request admitted by admit() ended (frees its concurrency slots). `ticket`: the one admit() was given (a shared limiter's slot). */
  release(limits: readonly LimitCounter[], ticket?: string): MaybePromise<void>;
  /** Tokens a finished request used, from its `usage`. */
  charge(limits: readonly LimitCounter[], now: number, tokens: number): MaybePromise<void>;
}
