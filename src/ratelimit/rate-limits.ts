// The in-memory home of every rate limit: operator limits by target, and what
// providers reported about each key. Loaded at boot and after each change
// (config:changed), so the proxy never reads the database for a limit.
// Counters of a limit that did not change survive a reload.

import type { PrismaClient } from '../generated/prisma/client.ts';
import type { KeyGate } from '../state/key-gate.ts';
import type { ApiKeyState } from '../state/types.ts';
import { LimitCounter, type Blocked, type RateLimitRule, type RateLimitScope } from './limit-counter.ts';
import type { RateLimiter } from './limiter.ts';
import type { SharedKeyLimits } from './shared-key-limits.ts';
import { readProviderLimits, type ProviderLimits } from './provider-headers.ts';

const NONE: readonly LimitCounter[] = [];

export function toRateLimitRule(row: { id: string; scope: string; targetId: string; requests: number | null; perSeconds: number | null; concurrent: number | null; tokensPerMinute: number | null }): RateLimitRule {
  return { id: row.id, scope: row.scope as RateLimitScope, targetId: row.targetId, requests: row.requests, perSeconds: row.perSeconds, concurrent: row.concurrent, tokensPerMinute: row.tokensPerMinute };
}

export class RateLimits implements RateLimiter, KeyGate {
  private counters = new Map<string, LimitCounter>();
  private byTarget: Record<RateLimitScope, Map<string, LimitCounter[]>> = { ACCESS_TOKEN: new Map(), UPSTREAM: new Map(), KEY: new Map() };
  private readonly provider = new Map<string, ProviderLimits>();
  /** Cluster mode: client limits shared by every instance (redis-limiter.ts); these counters decide while it is degraded. */
  shared: RateLimiter | null = null;
  /** Cluster mode: what the other instances sent with each key (shared-key-limits.ts). */
  sharedKeys: SharedKeyLimits | null = null;
  /** Refused client requests since start, by scope of the limit that refused (read by /metrics). */
  readonly refused: Record<RateLimitScope, number> = { ACCESS_TOKEN: 0, UPSTREAM: 0, KEY: 0 };

  constructor(private readonly prisma: PrismaClient) {}

  /** Whether any client (token or upstream) limit exists: lets the proxy skip the check entirely. */
  get clientLimits(): boolean {
    return this.byTarget.ACCESS_TOKEN.size > 0 || this.byTarget.UPSTREAM.size > 0;
  }

  async load(): Promise<void> {
    const rows = await this.prisma.rateLimit.findMany({ orderBy: { createdAt: 'asc' } });
    this.install(rows.map(toRateLimitRule));
  }

  install(rules: readonly RateLimitRule[]): void {
    const counters = new Map<string, LimitCounter>();
    const byTarget: RateLimits['byTarget'] = { ACCESS_TOKEN: new Map(), UPSTREAM: new Map(), KEY: new Map() };
    for (const rule of rules) {
      const known = this.counters.get(rule.id);
      const counter = known !== undefined && known.sameAs(rule) ? known : new LimitCounter(rule);
      counters.set(rule.id, counter);
      const list = byTarget[rule.scope].get(rule.targetId);
      if (list === undefined) byTarget[rule.scope].set(rule.targetId, [counter]);
      else list.push(counter);
    }
    this.counters = counters;
    this.byTarget = byTarget;
  }

  limitsFor(scope: RateLimitScope, targetId: string): readonly LimitCounter[] {
    return this.byTarget[scope].get(targetId) ?? NONE;
  }

  // RateLimiter: the in-memory implementation settles synchronously.

  admit(limits: readonly LimitCounter[], now: number): Blocked | null {
    for (const c of limits) {
      const blocked = c.check(now);
      if (blocked !== null) return blocked;
    }
    for (const c of limits) c.take(now);
    return null;
  }

  release(limits: readonly LimitCounter[]): void {
    for (const c of limits) c.release();
  }

  charge(limits: readonly LimitCounter[], now: number, tokens: number): void {
    for (const c of limits) c.charge(now, tokens);
  }

  // The key gate: asked by the key pool for each candidate key.

  /** Epoch ms when the key may serve again; <= now when it may serve now. Not a state change. */
  keyRoomAt(key: ApiKeyState, now: number): number {
    let at = 0;
    if (this.byTarget.KEY.size > 0) {
      const limits = this.byTarget.KEY.get(key.id);
      if (limits !== undefined) {
        for (const c of limits) at = Math.max(at, c.roomAt(now));
        if (this.sharedKeys !== null) at = Math.max(at, this.sharedKeys.roomAtFor(key.id, now));
      }
    }
    if (this.provider.size > 0) {
      const p = this.provider.get(key.id);
      if (p !== undefined) at = Math.max(at, p.blockedUntil);
    }
    return at;
  }

  /** Whether any key has an operator limit. */
  get keyLimits(): boolean {
    return this.byTarget.KEY.size > 0;
  }

  /** Whether the gate can hold back any key at all (lets the pool skip asking). */
  get gatesKeys(): boolean {
    return this.byTarget.KEY.size > 0 || this.provider.size > 0;
  }

  everyKeyLimited(): void {
    this.refused.KEY++;
  }

  keySent(key: ApiKeyState): void {
    if (this.byTarget.KEY.size === 0) return;
    const limits = this.byTarget.KEY.get(key.id);
    if (limits === undefined) return;
    const now = Date.now();
    for (const c of limits) c.take(now);
    if (this.sharedKeys !== null) this.sharedKeys.sent(key, limits);
  }

  keyDone(key: ApiKeyState): void {
    if (this.byTarget.KEY.size === 0) return;
    const limits = this.byTarget.KEY.get(key.id);
    if (limits !== undefined) for (const c of limits) c.release();
  }

  /** Reads a response's rate-limit headers for its key (upstreams with respectProviderLimits). */
  observeProvider(key: ApiKeyState, status: number, headers: Record<string, string | string[] | undefined>, now: number): void {
    const seen = readProviderLimits(status, headers, now);
    if (seen !== null) this.provider.set(key.id, seen);
  }

  providerLimits(keyId: string): ProviderLimits | null {
    return this.provider.get(keyId) ?? null;
  }

  forgetKey(keyId: string): void {
    this.provider.delete(keyId);
  }
}
