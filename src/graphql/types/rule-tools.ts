import { builder } from '../builder.ts';
import { NotFoundError, UserInputError } from '../../errors.ts';
import type { KeyValidation } from '../../keys/validate-keys.ts';
import { RULE_PRESETS, type RulePreset } from '../../rules/presets.ts';
import { testCondition, testConditionAgainstRows, type ConditionTestResult, type LogTestResult } from '../../rules/dry-run.ts';
import { RuleValidationError } from '../../rules/errors.ts';
import { DisableModeEnum, KeyStatusEnum, RuleActionEnum, RuleScopeEnum } from './enums.ts';
import { RuleConditionInput } from './rule-condition.ts';

/** A bad condition or sample is the caller's mistake: BAD_USER_INPUT naming the argument path. */
function asUserInput<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof RuleValidationError) throw new UserInputError(`${error.field}: ${error.message}`, error.field);
    throw error;
  }
}

const MAX_LOG_ROWS = 1000;

const RulePresetType = builder.objectRef<RulePreset>('RulePreset').implement({
  description: 'A ready-made rule; applyRulePreset stores a copy the user can then edit.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    condition: t.field({ type: 'JSON', resolve: (p) => p.rule.condition }),
    actions: t.field({ type: [RuleActionEnum], resolve: (p) => p.rule.actions }),
    threshold: t.int({ resolve: (p) => p.rule.threshold }),
    windowSeconds: t.int({ resolve: (p) => p.rule.windowSeconds }),
    consecutive: t.boolean({ resolve: (p) => p.rule.consecutive }),
    cooldownSeconds: t.int({ resolve: (p) => p.rule.cooldownSeconds }),
    disableMode: t.field({ type: DisableModeEnum, resolve: (p) => p.rule.disableMode }),
    disableForSeconds: t.int({ nullable: true, resolve: (p) => p.rule.disableForSeconds }),
    escalate: t.boolean({ resolve: (p) => p.rule.escalate }),
    maxDisableSeconds: t.int({ resolve: (p) => p.rule.maxDisableSeconds }),
    scope: t.field({ type: RuleScopeEnum, resolve: (p) => p.rule.scope }),
    priority: t.int({ resolve: (p) => p.rule.priority }),
  }),
});

const RuleSampleInput = builder.inputType('RuleSampleInput', {
  description: 'A response to test a condition against.',
  fields: (t) => ({
    status: t.int({ required: true }),
    headers: t.field({ type: 'JSON', description: 'An object of header name to value (string or list of strings).' }),
    body: t.string(),
    latencyMs: t.int(),
  }),
});

const RuleTestResultType = builder.objectRef<ConditionTestResult>('RuleTestResult').implement({
  fields: (t) => ({
    matched: t.exposeBoolean('matched', { description: 'Whether the condition holds for the sample.' }),
    needsBody: t.exposeBoolean('needsBody', { description: 'The condition reads the body, so on streams it is decided when the stream ends.' }),
    skippedAsClientError: t.exposeBoolean('skippedAsClientError', {
      description: 'The status is a client error (400, 404, 413, 422, ...) the condition does not name explicitly: the gateway would not evaluate the rule for it.',
    }),
  }),
});

const RuleLogTestResultType = builder.objectRef<LogTestResult>('RuleLogTestResult').implement({
  fields: (t) => ({
    matchedLogIds: t.idList({ resolve: (r) => r.matchedLogIds.map(String), description: 'Newest first.' }),
    evaluated: t.exposeInt('evaluated'),
    bodiesMissing: t.exposeInt('bodiesMissing', {
      description: 'Rows without a stored response body although the condition reads it; body leaves count as not matching there.',
    }),
  }),
});

const KeyProbeResultType = builder.objectRef<KeyValidation>('KeyProbeResult').implement({
  fields: (t) => ({
    keyId: t.exposeID('keyId'),
    ok: t.exposeBoolean('ok'),
    status: t.exposeInt('status', { nullable: true, description: 'The upstream status; null when no response arrived.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why the probe failed (never contains the key, host or URL).' }),
    latencyMs: t.exposeInt('latencyMs'),
    applied: t.field({ type: KeyStatusEnum, nullable: true, resolve: (r) => r.applied, description: 'The status the key was moved to when apply was set.' }),
  }),
});

builder.queryFields((t) => ({
  rulePresets: t.field({ type: [RulePresetType], resolve: () => [...RULE_PRESETS] }),
  testRule: t.field({
    type: RuleTestResultType,
    description: 'Evaluates a condition against one sample response (a dry run; nothing is stored).',
    args: { condition: t.arg({ type: RuleConditionInput, required: true }), sample: t.arg({ type: RuleSampleInput, required: true }) },
    resolve: (_root, args) => asUserInput(() => testCondition(args.condition, args.sample)),
  }),
  testRuleAgainstLogs: t.field({
    type: RuleLogTestResultType,
    description: "Evaluates a condition against the upstream's last stored request logs (status, latency, stored response body; headers are not stored).",
    args: {
      condition: t.arg({ type: RuleConditionInput, required: true }),
      upstreamId: t.arg.id({ required: true }),
      last: t.arg.int({ defaultValue: 100, description: 'How many of the newest rows to test (1-1000).' }),
    },
    resolve: async (_root, args, ctx) => {
      asUserInput(() => testConditionAgainstRows(args.condition, []));
      const last = args.last ?? 100;
      if (last < 1 || last > MAX_LOG_ROWS) throw new UserInputError(`last: must be between 1 and ${MAX_LOG_ROWS}`, 'last');
      const upstreamId = String(args.upstreamId);
      if (!(await ctx.services.prisma.upstream.findUnique({ where: { id: upstreamId }, select: { id: true } }))) {
        throw new NotFoundError(`no upstream with id ${upstreamId}`, 'upstreamId');
      }
      const rows = await ctx.services.prisma.requestLog.findMany({
        where: { upstreamId },
        orderBy: { id: 'desc' },
        take: last,
        select: { id: true, status: true, latencyMs: true, responseBody: true },
      });
      return testConditionAgainstRows(args.condition, rows);
    },
  }),
}));

builder.mutationFields((t) => ({
  applyRulePreset: t.prismaField({
    type: 'Rule',
    description: 'Stores a copy of a preset as a rule of the upstream (global when upstreamId is omitted).',
    args: { presetId: t.arg.id({ required: true }), upstreamId: t.arg.id() },
    resolve: async (query, _root, args, ctx) => {
      const preset = RULE_PRESETS.find((p) => p.id === String(args.presetId));
      if (!preset) throw new NotFoundError(`no rule preset with id ${args.presetId}`, 'presetId');
      const row = await ctx.services.rules.create({ ...preset.rule, upstreamId: args.upstreamId ? String(args.upstreamId) : null });
      return ctx.services.prisma.rule.findUniqueOrThrow({ ...query, where: { id: row.id } });
    },
  }),
  validateKeys: t.field({
    type: [KeyProbeResultType],
    description: "Sends the upstream's probe request with each key (all, or keyIds), 4 at a time. With apply: 401/403 ban a key, 402 disables it, a pass re-activates a DISABLED key; other failures are only reported.",
    args: { upstreamId: t.arg.id({ required: true }), keyIds: t.arg.idList(), apply: t.arg.boolean({ defaultValue: false }) },
    resolve: (_root, args, ctx) =>
      ctx.services.validateKeys(String(args.upstreamId), args.keyIds ? args.keyIds.map(String) : null, { apply: args.apply ?? false }),
  }),
}));
