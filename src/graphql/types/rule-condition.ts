import { builder } from '../builder.ts';
import type { RuleCondition } from '../../state/types.ts';

// Shapes mirror RuleCondition in state/types.ts; rules/compile.ts validates them.
const StatusCondition = builder.inputType('StatusConditionInput', {
  fields: (t) => ({ equals: t.int(), in: t.intList(), min: t.int(), max: t.int() }),
});
const BodyCondition = builder.inputType('BodyConditionInput', {
  fields: (t) => ({ contains: t.string(), regex: t.string({ description: 'RE2 syntax (linear time).' }), ignoreCase: t.boolean() }),
});
const JsonPathCondition = builder.inputType('JsonPathConditionInput', {
  fields: (t) => ({
    path: t.string({ required: true }),
    equals: t.field({ type: 'JSON' }),
    in: t.field({ type: ['JSON'] }),
    exists: t.boolean(),
    gt: t.float(),
    lt: t.float(),
    regex: t.string(),
  }),
});
const HeaderCondition = builder.inputType('HeaderConditionInput', {
  fields: (t) => ({ name: t.string({ required: true }), equals: t.string(), contains: t.string(), regex: t.string(), exists: t.boolean() }),
});
const LatencyCondition = builder.inputType('LatencyConditionInput', {
  fields: (t) => ({ gt: t.int(), lt: t.int() }),
});

export const RuleConditionInput = builder.inputRef<RuleCondition>('RuleConditionInput');
RuleConditionInput.implement({
  isOneOf: true,
  description: 'Exactly one of the fields: a leaf test, or all/any/not over nested conditions.',
  fields: (t: any) => ({
    all: t.field({ type: [RuleConditionInput] }),
    any: t.field({ type: [RuleConditionInput] }),
    not: t.field({ type: RuleConditionInput }),
    status: t.field({ type: StatusCondition }),
    body: t.field({ type: BodyCondition }),
    jsonPath: t.field({ type: JsonPathCondition }),
    header: t.field({ type: HeaderCondition }),
    latencyMs: t.field({ type: LatencyCondition }),
  }),
} as never);
