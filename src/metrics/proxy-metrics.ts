// Prometheus metrics for the proxy, on a Registry passed in (never the
// global one, so tests and several gateways in one process stay apart).
// Labelled children are cached per (upstream, status): prom-client hashes the
// label values on every inc(), which the hot path should not pay for. Key
// states and the log queue are read when scraped, not tracked per request.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GatewayState } from '../state/gateway-state.ts';
import { KEY_STATUSES } from '../state/types.ts';

export interface ProxyMetrics {
  /** One finished client request. */
  request(upstream: string, status: number, latencyMs: number, attempts: number): void;
}

export interface MetricsSources {
  state: GatewayState;
  logQueue: () => { depth: number; dropped: number };
}

type Child = { inc(n?: number): void };
type Observer = { observe(v: number): void };

export function createProxyMetrics(registry: Registry, sources: MetricsSources): ProxyMetrics {
  const registers = [registry];
  const requests = new Counter({ name: 'keyrelay_requests_total', help: 'Client requests through the proxy, by upstream and response status', labelNames: ['upstream', 'status'] as const, registers });
  const latency = new Histogram({
    name: 'keyrelay_request_duration_seconds',
    help: 'Client request latency until the response ended, by upstream',
    labelNames: ['upstream'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers,
  });
  const attempts = new Counter({ name: 'keyrelay_upstream_attempts_total', help: 'Requests sent (or tried) to upstreams, retries included', labelNames: ['upstream'] as const, registers });
  const retries = new Counter({ name: 'keyrelay_upstream_retries_total', help: 'Attempts beyond the first for a client request', labelNames: ['upstream'] as const, registers });
  new Gauge({
    name: 'keyrelay_keys',
    help: 'API keys by upstream and state',
    labelNames: ['upstream', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const runtime of sources.state.upstreamsById.values()) {
        const counts: Record<string, number> = Object.fromEntries(KEY_STATUSES.map((s) => [s, 0]));
        for (const key of runtime.keys.values()) counts[key.status]++;
        for (const status of KEY_STATUSES) this.labels(runtime.config.name, status).set(counts[status]);
      }
    },
  });
  new Gauge({ name: 'keyrelay_log_queue_depth', help: 'Request-log rows waiting to be stored', registers, collect() { this.set(sources.logQueue().depth); } });
  new Gauge({ name: 'keyrelay_log_rows_dropped', help: 'Request-log rows dropped because the queue was full (since start)', registers, collect() { this.set(sources.logQueue().dropped); } });

  const byUpstream = new Map<string, { statuses: Map<number, Child>; latency: Observer; attempts: Child; retries: Child }>();
  function children(upstream: string) {
    let c = byUpstream.get(upstream);
    if (c === undefined) {
      c = { statuses: new Map(), latency: latency.labels(upstream), attempts: attempts.labels(upstream), retries: retries.labels(upstream) };
      byUpstream.set(upstream, c);
    }
    return c;
  }

  return {
    request(upstream, status, latencyMs, attemptCount) {
      const c = children(upstream);
      let counter = c.statuses.get(status);
      if (counter === undefined) c.statuses.set(status, (counter = requests.labels(upstream, String(status))));
      counter.inc();
      c.latency.observe(latencyMs / 1000);
      if (attemptCount > 0) c.attempts.inc(attemptCount);
      if (attemptCount > 1) c.retries.inc(attemptCount - 1);
    },
  };
}

/** The /metrics body for AppParts.metrics. */
export function metricsEndpoint(registry: Registry): () => Promise<{ contentType: string; body: string }> {
  return async () => ({ contentType: registry.contentType, body: await registry.metrics() });
}
