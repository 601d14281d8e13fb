import type { RuleDefinition } from '../state/types.ts';

export type EscalatingRule = Pick<RuleDefinition, 'disableForSeconds' | 'escalate' | 'maxDisableSeconds'>;

/**
 * How long a DISABLE_KEY lasts: the base duration, times (previous disables + 1)
 * when the rule escalates, so a key that keeps failing is retried less and less
 * often; never longer than `maxDisableSeconds` (when that is positive).
 */
export function disableDurationMs(rule: EscalatingRule, previousDisables: number): number {
  const baseSeconds = Math.max(0, rule.disableForSeconds ?? 0);
  const factor = rule.escalate ? Math.max(0, Math.floor(previousDisables)) + 1 : 1;
  const seconds = baseSeconds * factor;
  const capped = rule.maxDisableSeconds > 0 ? Math.min(seconds, rule.maxDisableSeconds) : seconds;
  return capped * 1000;
}
