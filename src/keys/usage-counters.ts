// Per-key usage counted in memory on the hot path and persisted in batches by
// the log writer (one transaction per flush, next to the request-log rows). A
// flush takes a snapshot and clears the counters; if storing it fails, the
// snapshot is merged back, so a count is stored exactly once or retried, never
// dropped. Counts are deltas (`col = col + ?`), which is what lets several
// instances share one database without overwriting each other.

import type { SqlDriver, SqlStatement } from '../db/sql-driver.ts';
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

export interface UsageSnapshot {
  keys: Map<string, KeyUsageDelta>;
  /** Access token id -> last use (epoch ms). */
  tokens: Map<string, number>;
}

const MAX_ERROR_CHARS = 500;

export class UsageCounters {
  private keys = new Map<string, KeyUsageDelta>();
  private tokens = new Map<string, number>();

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
    const d = this.keys.get(keyId);
    if (d !== undefined) d.quota = 0;
  }

  /** Takes everything counted so far; null when there is nothing. */
  drain(): UsageSnapshot | null {
    if (!this.pending) return null;
    const snapshot = { keys: this.keys, tokens: this.tokens };
    this.keys = new Map();
    this.tokens = new Map();
    return snapshot;
  }

  /** Puts back a snapshot whose write failed, merged with what was counted meanwhile. */
  restore(snapshot: UsageSnapshot): void {
    for (const [keyId, old] of snapshot.keys) {
      const d = this.delta(keyId);
      d.quota += old.quota;
      d.requests += old.requests;
      d.failures += old.failures;
      d.promptTokens += old.promptTokens;
      d.completionTokens += old.completionTokens;
      if (old.lastUsedAt > d.lastUsedAt) d.lastUsedAt = old.lastUsedAt;
      d.lastError ??= old.lastError;
    }
    for (const [tokenId, at] of snapshot.tokens) {
      if (at > (this.tokens.get(tokenId) ?? 0)) this.tokens.set(tokenId, at);
    }
  }
}

const KEY_UPDATE =
  'UPDATE "ApiKey" SET "quotaUsed" = "quotaUsed" + ?, "requestCount" = "requestCount" + ?, "failureCount" = "failureCount" + ?, ' +
  '"promptTokens" = "promptTokens" + ?, "completionTokens" = "completionTokens" + ?, "lastUsedAt" = COALESCE(?, "lastUsedAt"), ' +
  '"lastError" = COALESCE(?, "lastError") WHERE "id" = ?';
const TOKEN_UPDATE = 'UPDATE "AccessToken" SET "lastUsedAt" = ? WHERE "id" = ?';

/** The UPDATEs that store a snapshot; a key or token deleted meanwhile simply matches no row. */
export function usageStatements(snapshot: UsageSnapshot, sql: SqlDriver): SqlStatement[] {
  const out: SqlStatement[] = [];
  for (const [keyId, d] of snapshot.keys) {
    const lastUsed = d.lastUsedAt > 0 ? sql.time(d.lastUsedAt) : null;
    out.push({ sql: KEY_UPDATE, params: [d.quota, d.requests, d.failures, d.promptTokens, d.completionTokens, lastUsed, d.lastError, keyId] });
  }
  for (const [tokenId, at] of snapshot.tokens) out.push({ sql: TOKEN_UPDATE, params: [sql.time(at), tokenId] });
  return out;
}
