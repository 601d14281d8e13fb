// /metrics for header scripts: runs, failures and time per upstream, read
// from the engine's plain counters at scrape time (the hot path only adds
// numbers, as in metrics/proxy-metrics.ts).

import { Counter, type Registry } from 'prom-client';
import type { ScriptEngine, ScriptStats } from './engine.ts';

function counter(registry: Registry, engine: ScriptEngine, name: string, help: string, read: (s: ScriptStats) => number): void {
  new Counter({
    name,
    help,
    labelNames: ['upstream'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [upstream, stats] of engine.stats) this.inc({ upstream }, read(stats));
    },
  });
}

export function registerScriptMetrics(registry: Registry, engine: ScriptEngine): void {
  counter(registry, engine, 'keyrelay_header_script_runs_total', 'Header script runs at request time, by upstream', (s) => s.runs);
  counter(registry, engine, 'keyrelay_header_script_failures_total', 'Header script runs that failed (error, time or memory limit, bad result)', (s) => s.failures);
  counter(registry, engine, 'keyrelay_header_script_seconds_total', 'Wall time spent in header scripts', (s) => s.seconds);
}
