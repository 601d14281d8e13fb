import type { JsonScalar, RuleCondition } from '../state/types.ts';
import type { EvalContext } from './eval-context.ts';
import { BudgetExhausted, compileJsonPath, type JsonPathQuery } from './json-path.ts';
import { compileRegex } from './regex.ts';

export type ConditionTest = (ctx: EvalContext) => boolean;

type LeafOf<K extends string> = Extract<RuleCondition, Record<K, unknown>> extends Record<K, infer L> ? L : never;
type StatusLeaf = LeafOf<'status'>;
type BodyLeaf = LeafOf<'body'>;
type JsonPathLeaf = LeafOf<'jsonPath'>;
type HeaderLeaf = LeafOf<'header'>;
type LatencyLeaf = LeafOf<'latencyMs'>;

/** Every comparator given on a leaf must hold (the schema guarantees at least one). */
function allOf<T>(checks: ((value: T) => boolean)[]): (value: T) => boolean {
  return (value) => checks.every((check) => check(value));
}

export function compileStatus(leaf: StatusLeaf): ConditionTest {
  const checks: ((status: number) => boolean)[] = [];
  const { equals, min, max } = leaf;
  if (equals !== undefined) checks.push((status) => status === equals);
  if (leaf.in !== undefined) {
    const allowed = new Set(leaf.in);
    checks.push((status) => allowed.has(status));
  }
  if (min !== undefined) checks.push((status) => status >= min);
  if (max !== undefined) checks.push((status) => status <= max);
  const matches = allOf(checks);
  return (ctx) => matches(ctx.status);
}

export function compileLatency(leaf: LatencyLeaf): ConditionTest {
  const { gt, lt } = leaf;
  return (ctx) => (gt === undefined || ctx.latencyMs > gt) && (lt === undefined || ctx.latencyMs < lt);
}

export function compileBody(leaf: BodyLeaf, field: string): ConditionTest {
  const ignoreCase = leaf.ignoreCase === true;
  const checks: ConditionTest[] = [];
  if (leaf.contains !== undefined) {
    const needle = ignoreCase ? leaf.contains.toLowerCase() : leaf.contains;
    checks.push((ctx) => ((ignoreCase ? ctx.bodyLowerCase() : ctx.body) ?? '').includes(needle));
  }
  if (leaf.regex !== undefined) {
    const regex = compileRegex(leaf.regex, ignoreCase, `${field}.regex`);
    checks.push((ctx) => regex.test(ctx.body ?? ''));
  }
  return (ctx) => ctx.body !== null && checks.every((check) => check(ctx));
}

export function compileHeader(leaf: HeaderLeaf, field: string): ConditionTest {
  const { name, equals, contains, exists } = leaf;
  const checks: ((value: string | undefined) => boolean)[] = [];
  if (exists !== undefined) checks.push((value) => (value !== undefined) === exists);
  if (equals !== undefined) checks.push((value) => value === equals);
  if (contains !== undefined) checks.push((value) => value !== undefined && value.includes(contains));
  if (leaf.regex !== undefined) {
    const regex = compileRegex(leaf.regex, false, `${field}.regex`);
    checks.push((value) => value !== undefined && regex.test(value));
  }
  const matches = allOf(checks);
  return (ctx) => matches(ctx.header(name));
}

function isScalarEqual(value: unknown, expected: JsonScalar): boolean {
  return value === expected;
}

/**
 * `exists` ignores JSON null: many APIs send `"error": null` on success, and a
 * rule asking whether `$.error` exists means "is there an error". Match null
 * explicitly with `equals: null`.
 */
export function compileJsonPathLeaf(leaf: JsonPathLeaf, field: string): ConditionTest {
  const query = compileJsonPath(leaf.path, `${field}.path`);
  const present = (value: unknown): boolean => value !== null && value !== undefined;
  if (leaf.exists === false) {
    // Absent in every document (every SSE event), the negation of `exists: true`.
    return (ctx) => ctx.body !== null && withinBudget(ctx, query, (run) => ctx.jsonDocuments().every((doc) => !run(doc).some(present)));
  }
  const checks: ((value: unknown) => boolean)[] = [];
  const { equals, gt, lt } = leaf;
  if (leaf.exists === true) checks.push(present);
  if (equals !== undefined) checks.push((value) => isScalarEqual(value, equals));
  if (leaf.in !== undefined) {
    const options = leaf.in;
    checks.push((value) => options.some((option) => isScalarEqual(value, option)));
  }
  if (gt !== undefined) checks.push((value) => typeof value === 'number' && value > gt);
  if (lt !== undefined) checks.push((value) => typeof value === 'number' && value < lt);
  if (leaf.regex !== undefined) {
    const regex = compileRegex(leaf.regex, false, `${field}.regex`);
    checks.push((value) => typeof value === 'string' && regex.test(value));
  }
  const matches = allOf(checks);
  return (ctx) => ctx.body !== null && withinBudget(ctx, query, (run) => ctx.jsonDocuments().some((doc) => run(doc).some(matches)));
}

/** One evaluation's node budget, shared by all its documents; an exhausted budget is "not matched", and reported. */
function withinBudget(ctx: EvalContext, query: JsonPathQuery, test: (run: (doc: unknown) => unknown[]) => boolean): boolean {
  const budget = { left: ctx.bounds.nodeBudget };
  try {
    return test((doc) => query(doc, budget));
  } catch (error) {
    if (!(error instanceof BudgetExhausted)) throw error;
    ctx.bounds.onBudgetExhausted();
    return false;
  }
}
