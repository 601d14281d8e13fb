// Prometheus metrics for the proxy, on a Registry passed in (never the
// global one, so tests and several gateways in one process stay apart).
// The hot path only bumps plain numbers per upstream (prom-client hashes the
// label values on every inc()/observe(), more than the rest of the metrics
// work together); the prom-client metrics read those numbers when scraped.
// Key states and the log queue are likewise read at scrape time.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { GatewayState } from '../state/gateway-state.ts';
import { KEY_STATUSES } from '../state/types.ts';
import { LatencyHistogram } from './latency-histogram.ts';
import { createOperatorMetrics, type OperatorMetrics } from './operator-metrics.ts';

export interface ProxyMetrics extends OperatorMetrics {
  /** One finished client request. */
  request(upstream: string, status: number, latencyMs: number, attempts: number): void;
}

export interface MetricsSources {
  state: GatewayState;
  logQueue: () => { depth: number; dropped: number; rejected?: number };
  /** Keys with their own per-key series (KEYRELAY_METRICS_KEY_LABELS); later keys count under key="other". */
  keyLabelCap?: number;
  /** What the rule engine's bounds cut short (rules/eval-bounds.ts). */
  ruleBounds?: () => { tooDeep: number; budgetExhausted: number };
}

interface UpstreamCounts {
  byStatus: Map<number, number>;
  attempts: number;
  retries: number;
}

export function createProxyMetrics(registry: Registry, sources: MetricsSources): ProxyMetrics {
  const registers = [registry];
  const counts = new Map<string, UpstreamCounts>();
  const latency = new LatencyHistogram('keyrelay_request_duration_seconds', 'Client request latency until the response ended, by upstream', 'upstream');
  registry.registerMetric(latency.asMetric());

  new Counter({
    name: 'keyrelay_requests_total',
    help: 'Client requests through the proxy, by upstream and response status',
    labelNames: ['upstream', 'status'] as const,
    registers,
    collect() {
      this.reset();
      for (const [upstream, c] of counts) for (const [status, n] of c.byStatus) this.inc({ upstream, status: String(status) }, n);
    },
  });
  new Counter({
    name: 'keyrelay_upstream_attempts_total',
    help: 'Requests sent (or tried) to upstreams, retries included',
    labelNames: ['upstream'] as const,
    registers,
    collect() {
      this.reset();
      for (const [upstream, c] of counts) if (c.attempts > 0) this.inc({ upstream }, c.attempts);
    },
  });
  new Counter({
    name: 'keyrelay_upstream_retries_total',
    help: 'Attempts beyond the first for a client request',
    labelNames: ['upstream'] as const,
    registers,
    collect() {
      this.reset();
      for (const [upstream, c] of counts) if (c.retries > 0) this.inc({ upstream }, c.retries);
    },
  });
  new Gauge({
    name: 'keyrelay_keys',
    help: 'API keys by upstream and state',
    labelNames: ['upstream', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const runtime of sources.state.upstreamsById.values()) {
        const byState: Record<string, number> = Object.fromEntries(KEY_STATUSES.map((s) => [s, 0]));
        for (const key of runtime.keys.values()) byState[key.status]++;
        for (const status of KEY_STATUSES) this.labels(runtime.config.name, status).set(byState[status]);
      }
    },
  });
  new Gauge({ name: 'keyrelay_log_queue_depth', help: 'Request-log rows waiting to be stored', registers, collect() { this.set(sources.logQueue().depth); } });
  new Gauge({ name: 'keyrelay_log_rows_dropped', help: 'Request-log rows dropped because the queue was full (since start)', registers, collect() { this.set(sources.logQueue().dropped); } });
  new Gauge({ name: 'keyrelay_rule_bodies_too_deep', help: 'Response bodies nested too deep to be parsed for rules (since start)', registers, collect() { this.set(sources.ruleBounds?.().tooDeep ?? 0); } });
  new Gauge({ name: 'keyrelay_rule_budget_exhausted', help: 'JSONPath rule evaluations stopped at their node budget, counted as not matching (since start)', registers, collect() { this.set(sources.ruleBounds?.().budgetExhausted ?? 0); } });
  new Gauge({ name: 'keyrelay_log_rows_rejected', help: 'Request-log rows the database refused on their own, left out of their batch (since start)', registers, collect() { this.set(sources.logQueue().rejected ?? 0); } });

  const operator = createOperatorMetrics(registry, sources.state, sources.keyLabelCap);
  return {
    ...operator,
    request(upstream, status, latencyMs, attempts) {
      let c = counts.get(upstream);
      if (c === undefined) counts.set(upstream, (c = { byStatus: new Map(), attempts: 0, retries: 0 }));
      c.byStatus.set(status, (c.byStatus.get(status) ?? 0) + 1);
      c.attempts += attempts;
      if (attempts > 1) c.retries += attempts - 1;
      latency.observe(upstream, latencyMs / 1000);
    },
  };
}

/** The /metrics body for AppParts.metrics. */
export function metricsEndpoint(registry: Registry): () => Promise<{ contentType: string; body: string }> {
  return async () => ({ contentType: registry.contentType, body: await registry.metrics() });
}
