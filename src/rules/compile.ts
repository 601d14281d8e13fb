import type { RuleCondition } from '../state/types.ts';
import { parseCondition } from './condition-schema.ts';
import {
  compileBody,
  compileHeader,
  compileJsonPathLeaf,
  compileLatency,
  compileStatus,
  type ConditionTest,
} from './compile-leaves.ts';
import type { EvalContext } from './eval-context.ts';

export interface CompiledCondition {
  test(ctx: EvalContext): boolean;
  /** True when some leaf reads the body, so the rule must wait for the complete response. */
  needsBody: boolean;
  source: RuleCondition;
}

interface CompiledNode {
  test: ConditionTest;
  needsBody: boolean;
}

function compileChildren(children: RuleCondition[], field: string): CompiledNode[] {
  const compiled = children.map((child, index) => compileNode(child, `${field}.${index}`));
  // Evaluation is pure, so order does not change the result; header-only
  // checks first lets `all`/`any` short-circuit before touching the body.
  return [...compiled].sort((a, b) => Number(a.needsBody) - Number(b.needsBody));
}

function compileNode(condition: RuleCondition, field: string): CompiledNode {
  if ('all' in condition) {
    const parts = compileChildren(condition.all, `${field}.all`);
    return { test: (ctx) => parts.every((part) => part.test(ctx)), needsBody: parts.some((p) => p.needsBody) };
  }
  if ('any' in condition) {
    const parts = compileChildren(condition.any, `${field}.any`);
    return { test: (ctx) => parts.some((part) => part.test(ctx)), needsBody: parts.some((p) => p.needsBody) };
  }
  if ('not' in condition) {
    const inner = compileNode(condition.not, `${field}.not`);
    return { test: (ctx) => !inner.test(ctx), needsBody: inner.needsBody };
  }
  if ('status' in condition) return { test: compileStatus(condition.status), needsBody: false };
  if ('latencyMs' in condition) return { test: compileLatency(condition.latencyMs), needsBody: false };
  if ('header' in condition) {
    return { test: compileHeader(condition.header, `${field}.header`), needsBody: false };
  }
  if ('body' in condition) return { test: compileBody(condition.body, `${field}.body`), needsBody: true };
  return { test: compileJsonPathLeaf(condition.jsonPath, `${field}.jsonPath`), needsBody: true };
}

/**
 * Validates a condition (as sent by a client) and compiles it once into
 * closures; regexes and JSONPaths are checked here, so a saved rule cannot
 * fail at evaluation time. Throws `RuleValidationError` naming the field.
 */
export function compileCondition(input: unknown, fieldPrefix = 'condition'): CompiledCondition {
  const source = parseCondition(input, fieldPrefix);
  const { test, needsBody } = compileNode(source, fieldPrefix);
  return { test, needsBody, source };
}
