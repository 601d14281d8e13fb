// The series operators look for beyond the per-upstream ones: requests and
// errors per key, tokens per upstream, retries by reason, and Node's process
// metrics. Like the rest of the proxy metrics, the hot path bumps plain
// numbers (one Map lookup per attempt); prom-client reads them at scrape time.
//
// Per-key series are capped: the first `keyLabelCap` keys that see traffic
// (since start) get their own {upstream, key, fingerprint} series, every later
// key counts into its upstream's {key="other", fingerprint="other"} series.
// Slots are never reassigned, so every series only grows, as a counter must.

import { collectDefaultMetrics, Counter, type Registry } from 'prom-client';
import type { GatewayState } from '../state/gateway-state.ts';
import type { ApiKeyState } from '../state/types.ts';

export const DEFAULT_KEY_LABEL_CAP = 500;
export const OTHER_KEY = 'other';

interface KeyCount {
  upstreamId: string;
  /** null for an upstream's `other` bucket. */
  keyId: string | null;
  name: string;
  fingerprint: string;
  requests: number;
  errors: number;
}

export interface OperatorMetrics {
  /** One attempt on a key; `failed` when it failed for the key's sake (no answer, or 401/403/429/5xx). */
  keyAttempt(key: ApiKeyState, failed: boolean): void;
  /** Another attempt follows, for this reason (`connect_error`, `timeout`, `connection_broken`, `status_429`, `rule`, ...). */
  retry(upstream: string, reason: string): void;
  /** Token usage a response reported. */
  tokens(upstream: string, prompt: number, completion: number): void;
}

// size: longer because it declares one metric family after another, each a few lines over the same registry.
export function createOperatorMetrics(registry: Registry, state: GatewayState, keyLabelCap = DEFAULT_KEY_LABEL_CAP): OperatorMetrics {
  const registers = [registry];
  const byKey = new Map<string, KeyCount>();
  const others = new Map<string, KeyCount>();
  let ownSeries = 0;
  const retries = new Map<string, Map<string, number>>();
  const tokens = new Map<string, { prompt: number; completion: number }>();

  function slotFor(key: ApiKeyState): KeyCount {
    let count: KeyCount | undefined;
    if (ownSeries < keyLabelCap) {
      ownSeries++;
      count = { upstreamId: key.upstreamId, keyId: key.id, name: key.name, fingerprint: key.fingerprint, requests: 0, errors: 0 };
    } else {
      count = others.get(key.upstreamId);
      if (count === undefined) {
        count = { upstreamId: key.upstreamId, keyId: null, name: OTHER_KEY, fingerprint: OTHER_KEY, requests: 0, errors: 0 };
        others.set(key.upstreamId, count);
      }
    }
    byKey.set(key.id, count);
    return count;
  }

  // Names are read when scraped, so a renamed key shows its new name; a deleted key keeps its last one.
  function labelsOf(c: KeyCount) {
    const upstream = state.upstreamsById.get(c.upstreamId)?.config.name ?? c.upstreamId;
    if (c.keyId !== null) {
      const live = state.keys.get(c.keyId);
      if (live !== undefined) c.name = live.name;
    }
    return { upstream, key: c.name, fingerprint: c.fingerprint };
  }

  const allCounts = () => [...new Set(byKey.values())];
  new Counter({
    name: 'keyrelay_key_requests_total',
    help: `Attempts sent with each key (retries included); the first ${keyLabelCap} keys with traffic have their own series, later ones count under key="other"`,
    labelNames: ['upstream', 'key', 'fingerprint'] as const,
    registers,
    collect() {
      this.reset();
      for (const c of allCounts()) this.inc(labelsOf(c), c.requests);
    },
  });
  new Counter({
    name: 'keyrelay_key_errors_total',
    help: 'Attempts that failed for the key: no answer (connect error, timeout, broken connection) or 401, 403, 429, 5xx',
    labelNames: ['upstream', 'key', 'fingerprint'] as const,
    registers,
    collect() {
      this.reset();
      for (const c of allCounts()) this.inc(labelsOf(c), c.errors);
    },
  });
  new Counter({
    name: 'keyrelay_upstream_retries_by_reason_total',
    help: 'Retries by upstream and the reason the previous attempt was retried',
    labelNames: ['upstream', 'reason'] as const,
    registers,
    collect() {
      this.reset();
      for (const [upstream, reasons] of retries) for (const [reason, n] of reasons) this.inc({ upstream, reason }, n);
    },
  });
  new Counter({
    name: 'keyrelay_tokens_total',
    help: 'Tokens the upstream reported in usage, by upstream and kind (prompt, completion)',
    labelNames: ['upstream', 'kind'] as const,
    registers,
    collect() {
      this.reset();
      for (const [upstream, t] of tokens) {
        this.inc({ upstream, kind: 'prompt' }, t.prompt);
        this.inc({ upstream, kind: 'completion' }, t.completion);
      }
    },
  });
  collectDefaultMetrics({ register: registry });

  return {
    keyAttempt(key, failed) {
      const c = byKey.get(key.id) ?? slotFor(key);
      c.requests++;
      if (failed) c.errors++;
    },
    retry(upstream, reason) {
      let reasons = retries.get(upstream);
      if (reasons === undefined) retries.set(upstream, (reasons = new Map()));
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    },
    tokens(upstream, prompt, completion) {
      let t = tokens.get(upstream);
      if (t === undefined) tokens.set(upstream, (t = { prompt: 0, completion: 0 }));
      t.prompt += prompt;
      t.completion += completion;
    },
  };
}
