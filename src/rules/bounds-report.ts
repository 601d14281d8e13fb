// Counts and logs what the rule engine's bounds (eval-bounds.ts) cut short:
// bodies too deep to parse and JSONPath evaluations out of budget. One
// warning per kind per window, naming the upstream and request, so a hostile
// upstream cannot flood the log; the counters (and the metrics) see them all.

import type { Logger } from '../logger.ts';
import { DEFAULT_BOUNDS, type EvalBounds, type EvalBoundsStats } from './eval-bounds.ts';

const WARN_EVERY_MS = 10_000;

export function boundsReporter(log: Logger, now: () => number) {
  const stats: EvalBoundsStats = { tooDeep: 0, budgetExhausted: 0 };
  const lastWarn = { tooDeep: -Infinity, budgetExhausted: -Infinity };

  const report = (kind: keyof EvalBoundsStats, upstream: string, requestId: string) => {
    stats[kind]++;
    const at = now();
    if (at - lastWarn[kind] < WARN_EVERY_MS) return;
    lastWarn[kind] = at;
    const message =
      kind === 'tooDeep'
        ? `response body nested deeper than ${DEFAULT_BOUNDS.maxDepth} levels: not parsed for rules`
        : `a JSONPath rule visited more than ${DEFAULT_BOUNDS.nodeBudget} nodes: counted as not matching`;
    log.warn({ upstream, requestId, count: stats[kind] }, message);
  };

  return {
    stats,
    /** Bounds for one response's evaluation; reports are tagged with its upstream and request. */
    forResponse(upstream: string, requestId: string): EvalBounds {
      return {
        maxDepth: DEFAULT_BOUNDS.maxDepth,
        nodeBudget: DEFAULT_BOUNDS.nodeBudget,
        onTooDeep: () => report('tooDeep', upstream, requestId),
        onBudgetExhausted: () => report('budgetExhausted', upstream, requestId),
      };
    },
  };
}
