import { builder } from '../builder.ts';
import { parseJson } from '../../db/json-column.ts';
import type { RuleActionType } from '../../state/types.ts';
import { DisableModeEnum, RuleActionEnum, RuleScopeEnum } from './enums.ts';
import { RuleConditionInput } from './rule-condition.ts';

export const RuleType = builder.prismaObject('Rule', {
  fields: (t) => ({
    id: t.exposeID('id'),
    upstreamId: t.exposeID('upstreamId', { nullable: true, description: 'null for a global rule.' }),
    upstream: t.relation('upstream', { nullable: true }),
    name: t.exposeString('name'),
    condition: t.field({ type: 'JSON', select: { condition: true }, resolve: (r) => parseJson(r.condition, null) }),
    actions: t.field({ type: [RuleActionEnum], select: { actions: true }, resolve: (r) => parseJson<RuleActionType[]>(r.actions, []) }),
    threshold: t.exposeInt('threshold'),
    windowSeconds: t.exposeInt('windowSeconds'),
    consecutive: t.exposeBoolean('consecutive'),
    cooldownSeconds: t.exposeInt('cooldownSeconds'),
    disableMode: t.expose('disableMode', { type: DisableModeEnum }),
    disableForSeconds: t.exposeInt('disableForSeconds', { nullable: true }),
    escalate: t.exposeBoolean('escalate'),
    maxDisableSeconds: t.exposeInt('maxDisableSeconds'),
    scope: t.expose('scope', { type: RuleScopeEnum }),
    priority: t.exposeInt('priority'),
    enabled: t.exposeBoolean('enabled'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

function ruleInputFields(required: boolean) {
  return (t: Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0]) => ({
    upstreamId: t.id({ description: 'Omit (or null) for a global rule.' }),
    name: t.string({ required }),
    condition: t.field({ type: RuleConditionInput, required }),
    actions: t.field({ type: [RuleActionEnum], required }),
    threshold: t.int({ description: 'Matches needed within windowSeconds (or in a row when consecutive).' }),
    windowSeconds: t.int(),
    consecutive: t.boolean(),
    cooldownSeconds: t.int(),
    disableMode: t.field({ type: DisableModeEnum }),
    disableForSeconds: t.int(),
    escalate: t.boolean({ description: 'Each repeated disable lasts base × count, capped at maxDisableSeconds.' }),
    maxDisableSeconds: t.int(),
    scope: t.field({ type: RuleScopeEnum }),
    priority: t.int({ description: 'Lower runs first.' }),
    enabled: t.boolean(),
  });
}

const CreateRuleInput = builder.inputType('CreateRuleInput', { fields: ruleInputFields(true) });
const UpdateRuleInput = builder.inputType('UpdateRuleInput', { fields: ruleInputFields(false) });

builder.queryFields((t) => ({
  rules: t.prismaField({
    type: ['Rule'],
    description: 'Rules of one upstream (with the global ones), or every rule when upstreamId is omitted.',
    args: { upstreamId: t.arg.id() },
    resolve: (query, _root, args, ctx) =>
      ctx.services.prisma.rule.findMany({
        ...query,
        where: args.upstreamId ? { OR: [{ upstreamId: String(args.upstreamId) }, { upstreamId: null }] } : {},
        orderBy: [{ priority: 'asc' }, { name: 'asc' }],
      }),
  }),
}));

builder.mutationFields((t) => ({
  createRule: t.prismaField({
    type: 'Rule',
    args: { input: t.arg({ type: CreateRuleInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { upstreamId, ...rest } = args.input;
      const row = await ctx.services.rules.create({ ...rest, upstreamId: upstreamId ? String(upstreamId) : null } as never);
      return ctx.services.prisma.rule.findUniqueOrThrow({ ...query, where: { id: row.id } });
    },
  }),
  updateRule: t.prismaField({
    type: 'Rule',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateRuleInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { upstreamId, ...rest } = args.input;
      const input = { ...rest, ...(upstreamId !== undefined ? { upstreamId: upstreamId ? String(upstreamId) : null } : {}) };
      const row = await ctx.services.rules.update(String(args.id), input as never);
      return ctx.services.prisma.rule.findUniqueOrThrow({ ...query, where: { id: row.id } });
    },
  }),
  deleteRule: t.field({
    type: 'ID',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => (await ctx.services.rules.remove(String(args.id))).id,
  }),
}));
