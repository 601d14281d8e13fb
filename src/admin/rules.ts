import type { AdminDeps } from './deps.ts';
import { NotFoundError, UserInputError } from '../errors.ts';
import { compileRule, RuleValidationError } from '../rules/index.ts';
import { toRuleDefinition } from '../state/map-rows.ts';
import type { RuleDefinition } from '../state/types.ts';

export type RuleInput = Partial<Omit<RuleDefinition, 'id'>>;

export const RULE_DEFAULTS: Omit<RuleDefinition, 'id' | 'upstreamId' | 'name' | 'condition' | 'actions'> = {
  threshold: 1,
  windowSeconds: 60,
  consecutive: false,
  cooldownSeconds: 0,
  disableMode: 'DURATION',
  disableForSeconds: null,
  escalate: false,
  maxDisableSeconds: 86_400,
  scope: 'KEY',
  priority: 100,
  enabled: true,
};

/** Validates and compiles a whole rule, so a rule that is stored always compiles. */
export function checkRule(def: RuleDefinition, prefix = 'input'): void {
  try {
    compileRule(def);
  } catch (error) {
    if (error instanceof RuleValidationError) {
      const field = `${prefix}.${error.field}`.replace(/\.$/, '');
      throw new UserInputError(error.message.startsWith(error.field) ? `${prefix}.${error.message}` : `${field}: ${error.message}`, field);
    }
    throw error;
  }
}

function columns(def: RuleDefinition) {
  const { id: _id, condition, actions, ...rest } = def;
  return { ...rest, condition: JSON.stringify(condition), actions: JSON.stringify(actions) };
}

export function ruleAdmin(deps: Pick<AdminDeps, 'prisma' | 'commit'>) {
  const { prisma, commit } = deps;

  async function requireUpstream(upstreamId: string | null | undefined) {
    if (!upstreamId) return;
    if (!(await prisma.upstream.findUnique({ where: { id: upstreamId } }))) {
      throw new NotFoundError(`no upstream with id ${upstreamId}`, 'input.upstreamId');
    }
  }

  const changed = () => commit({ kind: 'rules' });

  return {
    async create(input: RuleInput) {
      if (input.name == null) throw new UserInputError('input.name: is required', 'input.name');
      if (input.condition == null) throw new UserInputError('input.condition: is required', 'input.condition');
      const def: RuleDefinition = {
        ...RULE_DEFAULTS,
        ...stripNulls(input),
        id: 'new',
        upstreamId: input.upstreamId ?? null,
        name: input.name,
        condition: input.condition,
        actions: input.actions ?? [],
      };
      checkRule(def);
      await requireUpstream(def.upstreamId);
      const row = await prisma.rule.create({ data: columns(def) });
      await changed();
      return row;
    },
    async update(id: string, input: RuleInput) {
      const existing = await prisma.rule.findUnique({ where: { id } });
      if (!existing) throw new NotFoundError(`no rule with id ${id}`, 'id');
      const def: RuleDefinition = { ...toRuleDefinition(existing), ...stripNulls(input), id };
      if (input.upstreamId === null) def.upstreamId = null;
      checkRule(def);
      await requireUpstream(def.upstreamId);
      const row = await prisma.rule.update({ where: { id }, data: columns(def) });
      await changed();
      return row;
    },
    async remove(id: string) {
      const existing = await prisma.rule.findUnique({ where: { id } });
      if (!existing) throw new NotFoundError(`no rule with id ${id}`, 'id');
      await prisma.rule.delete({ where: { id } });
      await changed();
      return existing;
    },
  };
}

/** GraphQL sends null for omitted optional fields; null never means "clear" except where handled explicitly. */
function stripNulls<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;
}
