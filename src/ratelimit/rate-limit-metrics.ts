// /metrics: requests refused by a rate limit, read from plain counters at
// scrape time (the hot path only bumps a number).

import { Counter, type Registry } from 'prom-client';
import { RATE_LIMIT_SCOPES } from './limit-counter.ts';
import type { RateLimits } from './rate-limits.ts';

export function registerRateLimitMetrics(registry: Registry, limits: RateLimits): void {
  new Counter({
    name: 'keyrelay_rate_limited_total',
    help: 'Client requests refused with 429 RATE_LIMITED, by the scope of the limit (KEY: every key of the upstream was at its limit)',
    labelNames: ['scope'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const scope of RATE_LIMIT_SCOPES) this.inc({ scope }, limits.refused[scope]);
    },
  });
}
