// Per-key usage counted in memory on the hot path and persisted in batches by
// the log writer's worker thread (one transaction per batch, next to the
// request-log rows). A flush drains the counters into a snapshot; if storing
// it fails, the snapshot is merged back, so a count is stored exactly once or
// retried, never dropped. Counts are deltas (`col = col + ?`), which is what
// lets several instances share one database without overwriting each other.
//
// A quota reset (admin, jobs) calls discardQuota() right before it sets the
// stored count to 0. Charges still pending here are simply dropped; charges
// already handed to the worker cannot be taken back, so each snapshot in
// flight carries a shared flag per key: discardQuota() raises it, and the
// worker reads it while it holds the row (PostgreSQL) or database (SQLite)
// write lock, so a stale charge never lands on top of a reset (see log-store.ts).

import type { TokenUsage } from '../state/types.ts';

export interface KeyUsageDelta {
  /** Requests charged to the key's quota (attempts that reached the upstream). */
  quota: number;
  requests: number;
  /** Key-attributable failures (401, 403, 429, 5xx); connection failures are the host's, not the key's. */
  failures: number;
  promptTokens: number;
  completionTokens: number;
  lastUsedAt: number;
  lastError: string | null;
}

/** A drained set of deltas in the shape posted to the writer's worker (structured clone, no class instances). */
export interface UsageSnapshot {
  keyIds: string[];
  /** Per key, USAGE_FIELDS numbers: quota, requests, failures, promptTokens, completionTokens, lastUsedAt (0 = none). */
  keyNums: Float64Array;
  lastErrors: (string | null)[];
  /** Per key: 1 once discardQuota() was called for it while the snapshot was in flight (a SharedArrayBuffer view). */
  discarded: Int32Array;
  tokenIds: string[];
  /** Access token last use, epoch ms, parallel to tokenIds. */
  tokenAt: number[];
}

export const USAGE_FIELDS = 6;
export const U_QUOTA = 0;
export const U_REQUESTS = 1;
export const U_FAILURES = 2;
export const U_PROMPT = 3;
export const U_COMPLETION = 4;
export const U_LAST_USED = 5;

const MAX_ERROR_CHARS = 500;

export class UsageCounters {
  private keys = new Map<string, KeyUsageDelta>();
  private tokens = new Map<string, number>();
  /** Cluster mode: a quota reset also voids the key's quota block (QuotaLeases.reset). */
  onDiscard: ((keyId: string) => void) | null = null;
  /** Snapshots handed to the writer and not settled yet. */
  private readonly inFlight = new Set<UsageSnapshot>();

  get pending(): boolean {
    return this.keys.size > 0 || this.tokens.size > 0;
  }

  private delta(keyId: string): KeyUsageDelta {
    let d = this.keys.get(keyId);
    if (d === undefined) {
      d = { quota: 0, requests: 0, failures: 0, promptTokens: 0, completionTokens: 0, lastUsedAt: 0, lastError: null };
      this.keys.set(keyId, d);
    }
    return d;
  }

  /** One attempt that reached the upstream with this key. `error` marks a key-attributable failure. */
  attempt(keyId: string, now: number, error: string | null): void {
    const d = this.delta(keyId);
    d.quota++;
    d.requests++;
    if (now > d.lastUsedAt) d.lastUsedAt = now;
    if (error !== null) {
      d.failures++;
      d.lastError = error.length > MAX_ERROR_CHARS ? error.slice(0, MAX_ERROR_CHARS) : error;
    }
  }

  tokensUsed(keyId: string, usage: TokenUsage): void {
    const d = this.delta(keyId);
    d.promptTokens += usage.promptTokens;
    d.completionTokens += usage.completionTokens;
  }

  touchToken(tokenId: string, now: number): void {
    this.tokens.set(tokenId, now);
  }

  /**
   * Forgets quota charged but not stored yet: a quota reset that sets the
   * stored count to 0 calls this first, or the pending delta would land on
   * top of the fresh period.
   */
  discardQuota(keyId: string): void {
    this.onDiscard?.(keyId);
    const d = this.keys.get(keyId);
    if (d !== undefined) d.quota = 0;
    for (const snapshot of this.inFlight) {
      const i = snapshot.keyIds.indexOf(keyId);
      if (i >= 0) Atomics.store(snapshot.discarded, i, 1);
    }
  }

  /** Takes everything counted so far (in flight until settle() or restore()); null when there is nothing. */
  drain(): UsageSnapshot | null {
    if (!this.pending) return null;
    const n = this.keys.size;
    const snapshot: UsageSnapshot = {
      keyIds: [],
      keyNums: new Float64Array(n * USAGE_FIELDS),
      lastErrors: [],
      discarded: new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4)),
      tokenIds: [...this.tokens.keys()],
      tokenAt: [...this.tokens.values()],
    };
    let o = 0;
    for (const [keyId, d] of this.keys) {
      snapshot.keyIds.push(keyId);
      snapshot.lastErrors.push(d.lastError);
      const nums = snapshot.keyNums;
      nums[o + U_QUOTA] = d.quota;
      nums[o + U_REQUESTS] = d.requests;
      nums[o + U_FAILURES] = d.failures;
      nums[o + U_PROMPT] = d.promptTokens;
      nums[o + U_COMPLETION] = d.completionTokens;
      nums[o + U_LAST_USED] = d.lastUsedAt;
      o += USAGE_FIELDS;
    }
    this.keys = new Map();
    this.tokens = new Map();
    this.inFlight.add(snapshot);
    return snapshot;
  }

  /** The snapshot was stored. */
  settle(snapshot: UsageSnapshot): void {
    this.inFlight.delete(snapshot);
  }

  /** Puts back a snapshot whose write failed, merged with what was counted meanwhile (minus discarded quota). */
  restore(snapshot: UsageSnapshot): void {
    this.inFlight.delete(snapshot);
    const nums = snapshot.keyNums;
    for (let i = 0; i < snapshot.keyIds.length; i++) {
      const o = i * USAGE_FIELDS;
      const d = this.delta(snapshot.keyIds[i]);
      if (Atomics.load(snapshot.discarded, i) === 0) d.quota += nums[o + U_QUOTA];
      d.requests += nums[o + U_REQUESTS];
      d.failures += nums[o + U_FAILURES];
      d.promptTokens += nums[o + U_PROMPT];
      d.completionTokens += nums[o + U_COMPLETION];
      if (nums[o + U_LAST_USED] > d.lastUsedAt) d.lastUsedAt = nums[o + U_LAST_USED];
      d.lastError ??= snapshot.lastErrors[i];
    }
    for (let i = 0; i < snapshot.tokenIds.length; i++) {
      const id = snapshot.tokenIds[i];
      if (snapshot.tokenAt[i] > (this.tokens.get(id) ?? 0)) this.tokens.set(id, snapshot.tokenAt[i]);
    }
  }
}
