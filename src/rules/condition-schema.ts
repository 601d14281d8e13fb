import { z } from 'zod';
import type { RuleCondition } from '../state/types.ts';
import { assertConditionLimits } from './condition-limits.ts';
import { fromZodIssue } from './errors.ts';

// Bounds on single values: a pattern or list this large is a mistake, and every
// comparator runs on the hot path.
const MAX_PATTERN_LENGTH = 1000;
const MAX_LIST_LENGTH = 100;

const CONDITION_KINDS = ['status', 'body', 'jsonPath', 'header', 'latencyMs', 'all', 'any', 'not'] as const;

/** A leaf without any comparator would match everything, which is never what was meant. */
function requireOneOf<T extends object>(keys: readonly (keyof T & string)[]) {
  return (leaf: T, ctx: z.RefinementCtx) => {
    if (!keys.some((key) => leaf[key] !== undefined)) {
      ctx.addIssue({ code: 'custom', message: `needs at least one of: ${keys.join(', ')}` });
    }
  };
}

/** `exists: false` asserts absence, so also comparing the (absent) value can never match. */
function rejectExistsFalseWithValues<T extends { exists?: boolean }>(keys: readonly (keyof T & string)[]) {
  return (leaf: T, ctx: z.RefinementCtx) => {
    if (leaf.exists === false && keys.some((key) => leaf[key] !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['exists'], message: 'exists: false cannot be combined with value comparators' });
    }
  };
}

const statusMessage = 'must be an HTTP status code (100-599)';
const statusCode = z.number(statusMessage).int(statusMessage).min(100, statusMessage).max(599, statusMessage);
const pattern = z.string().min(1).max(MAX_PATTERN_LENGTH);
const nonNegative = z.number().min(0);
const jsonScalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const statusLeaf = z
  .strictObject({
    equals: statusCode.optional(),
    in: z.array(statusCode).min(1).max(MAX_LIST_LENGTH).optional(),
    min: statusCode.optional(),
    max: statusCode.optional(),
  })
  .superRefine(requireOneOf(['equals', 'in', 'min', 'max']))
  .refine((s) => s.min === undefined || s.max === undefined || s.min <= s.max, {
    path: ['max'],
    message: 'max must be greater than or equal to min',
  });

const bodyLeaf = z
  .strictObject({ contains: pattern.optional(), regex: pattern.optional(), ignoreCase: z.boolean().optional() })
  .superRefine(requireOneOf(['contains', 'regex']));

const jsonPathLeaf = z
  .strictObject({
    path: z.string().min(1).max(256),
    equals: jsonScalar.optional(),
    in: z.array(jsonScalar).min(1).max(MAX_LIST_LENGTH).optional(),
    exists: z.boolean().optional(),
    gt: z.number().optional(),
    lt: z.number().optional(),
    regex: pattern.optional(),
  })
  .superRefine(requireOneOf(['equals', 'in', 'exists', 'gt', 'lt', 'regex']))
  .superRefine(rejectExistsFalseWithValues(['equals', 'in', 'gt', 'lt', 'regex']));

const headerLeaf = z
  .strictObject({
    name: z.string().min(1).max(256),
    equals: z.string().optional(),
    contains: z.string().min(1).optional(),
    regex: pattern.optional(),
    exists: z.boolean().optional(),
  })
  .superRefine(requireOneOf(['equals', 'contains', 'regex', 'exists']))
  .superRefine(rejectExistsFalseWithValues(['equals', 'contains', 'regex']));

const latencyLeaf = z
  .strictObject({ gt: nonNegative.optional(), lt: nonNegative.optional() })
  .superRefine(requireOneOf(['gt', 'lt']))
  .refine((l) => l.gt === undefined || l.lt === undefined || l.gt < l.lt, {
    path: ['lt'],
    message: 'lt must be greater than gt, otherwise nothing can match',
  });

const conditionNode = z
  .strictObject({
    status: statusLeaf.optional(),
    body: bodyLeaf.optional(),
    jsonPath: jsonPathLeaf.optional(),
    header: headerLeaf.optional(),
    latencyMs: latencyLeaf.optional(),
    get all() {
      return z.array(conditionSchema).min(1).optional();
    },
    get any() {
      return z.array(conditionSchema).min(1).optional();
    },
    get not() {
      return conditionSchema.optional();
    },
  })
  .superRefine((node, ctx) => {
    const present = CONDITION_KINDS.filter((kind) => node[kind] !== undefined);
    if (present.length !== 1) {
      const found = present.length === 0 ? 'none' : present.join(', ');
      ctx.addIssue({ code: 'custom', message: `needs exactly one of ${CONDITION_KINDS.join(', ')} (found ${found})` });
    }
  });

type ConditionNode = z.output<typeof conditionNode>;

/** Narrows the validated one-key object to the union member it is. */
function toCondition(node: ConditionNode): RuleCondition {
  if (node.status) return { status: node.status };
  if (node.body) return { body: node.body };
  if (node.jsonPath) return { jsonPath: node.jsonPath };
  if (node.header) return { header: node.header };
  if (node.latencyMs) return { latencyMs: node.latencyMs };
  if (node.all) return { all: node.all };
  if (node.any) return { any: node.any };
  if (node.not) return { not: node.not };
  throw new Error('unreachable: condition validated without a kind');
}

/**
 * Validates the structure of a `RuleCondition` (one key per object, a
 * comparator on each leaf). Regex and JSONPath syntax is checked by compile.ts.
 */
export const conditionSchema: z.ZodType<RuleCondition> = conditionNode.transform(toCondition);

/** Checks size limits, then the schema; throws a `RuleValidationError` naming the first bad field. */
export function parseCondition(input: unknown, fieldPrefix = 'condition'): RuleCondition {
  assertConditionLimits(input, fieldPrefix);
  const result = conditionSchema.safeParse(input);
  if (result.success) return result.data;
  throw fromZodIssue(result.error.issues[0], fieldPrefix);
}
