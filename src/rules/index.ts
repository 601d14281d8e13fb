export { RuleValidationError } from './errors.ts';
export { conditionSchema, parseCondition } from './condition-schema.ts';
export { MAX_CONDITION_DEPTH, MAX_CONDITION_NODES } from './condition-limits.ts';
export { compileCondition, type CompiledCondition } from './compile.ts';
export { createEvalContext, type EvalContext } from './eval-context.ts';
export {
  compileRule,
  evaluateRules,
  explicitlyTargetsStatus,
  isClientError,
  type CompiledRule,
  type EvaluationPhase,
} from './evaluate.ts';
export { assertRuleSettings, ruleSettingsSchema, type RuleSettings } from './rule-schema.ts';
export { createRuleTracker, type RuleTracker, type RuleTrackerOptions, type TrackedRule } from './rule-tracker.ts';
export { disableDurationMs, type EscalatingRule } from './escalation.ts';
export { RULE_PRESETS, type RulePreset } from './presets.ts';
