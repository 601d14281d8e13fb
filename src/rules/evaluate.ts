import type { RuleDefinition } from '../state/types.ts';
import { compileCondition, type CompiledCondition } from './compile.ts';
import type { EvalContext } from './eval-context.ts';
import { assertRuleSettings } from './rule-schema.ts';

export { explicitlyTargetsStatus, isClientError } from './status-guard.ts';

export interface CompiledRule {
  readonly def: RuleDefinition;
  readonly condition: CompiledCondition;
  /** Copied from the condition: the rule can only be decided once the body is captured. */
  readonly needsBody: boolean;
}

export type EvaluationPhase = 'headers' | 'complete';

/** Validates settings and condition (throwing `RuleValidationError`) and compiles once, on write. */
export function compileRule(def: RuleDefinition): CompiledRule {
  const { condition: rawCondition, ...settings } = def;
  assertRuleSettings(settings);
  const condition = compileCondition(rawCondition, 'condition');
  return { def, condition, needsBody: condition.needsBody };
}

function byPriority(a: CompiledRule, b: CompiledRule): number {
  if (a.def.priority !== b.def.priority) return a.def.priority - b.def.priority;
  if (a.def.name !== b.def.name) return a.def.name < b.def.name ? -1 : 1;
  return a.def.id < b.def.id ? -1 : a.def.id > b.def.id ? 1 : 0;
}

/**
 * The enabled rules whose condition holds, lower priority number first, then
 * by name. In the headers phase the body is not known yet, so only rules that
 * do not read it are decided; the rest wait for 'complete'. Pure: no I/O.
 */
export function evaluateRules(rules: CompiledRule[], ctx: EvalContext, phase: EvaluationPhase): CompiledRule[] {
  const matched = rules.filter(
    (rule) => rule.def.enabled && (phase === 'complete' || !rule.needsBody) && rule.condition.test(ctx),
  );
  return matched.sort(byPriority);
}
