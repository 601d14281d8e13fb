import type { QuotaGate } from '../keys/quota.ts';
import type { UsageCounters } from '../keys/usage-counters.ts';
import type { LogEntry } from '../logs/log-entry.ts';
import type { Redactor } from '../logs/redact.ts';
import type { Logger } from '../logger.ts';
import type { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import type { RuleRuntime } from '../rules/runtime-types.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import type { UpstreamConfig } from '../state/types.ts';
import type { RetryBudget } from './retry-budget.ts';
import type { UpstreamTargets } from './upstream-targets.ts';

/** Everything the proxy handler works with, built once in gateway.ts (or a test). */
export interface ProxyDeps {
  state: GatewayState;
  targets: UpstreamTargets;
  rules: RuleRuntime;
  quota: QuotaGate;
  usage: UsageCounters;
  logs: { enqueue(entry: LogEntry): void };
  metrics: ProxyMetrics | null;
  budget: RetryBudget;
  redactor: Redactor;
  log: Logger;
  maxRequestBodyBytes: number;
  /** Take the client address from X-Forwarded-For (behind a trusted proxy). */
  trustProxy: boolean;
  random?: () => number;
  /** When the quota-reset job next runs for this upstream: the return time of EXHAUSTED keys that have no period end stored. */
  quotaResetAt?: (upstream: UpstreamConfig, now: number) => number | null;
}
