import { z } from 'zod';
import { plainText } from '../text.ts';
import { DISABLE_MODES, RULE_ACTIONS, RULE_SCOPES, type RuleDefinition } from '../state/types.ts';
import { fromZodIssue } from './errors.ts';

const DAY_SECONDS = 86_400;
const seconds = z.number().min(0).max(30 * DAY_SECONDS);

/**
 * The firing and action settings of a rule (everything but the condition),
 * checked so the tracker and the disable logic never see nonsense values.
 */
export const ruleSettingsSchema = z
  .object({
    name: plainText().trim().min(1).max(200),
    actions: z
      .array(z.enum(RULE_ACTIONS))
      .min(1, 'needs at least one action')
      .refine((actions) => new Set(actions).size === actions.length, 'actions must not repeat'),
    threshold: z.number().int().min(1).max(10_000),
    windowSeconds: seconds,
    consecutive: z.boolean(),
    cooldownSeconds: seconds,
    disableMode: z.enum(DISABLE_MODES),
    disableForSeconds: seconds.nullable(),
    escalate: z.boolean(),
    maxDisableSeconds: seconds,
    scope: z.enum(RULE_SCOPES),
    priority: z.number().int(),
  })
  .superRefine((rule, ctx) => {
    if (!rule.consecutive && rule.threshold > 1 && rule.windowSeconds <= 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['windowSeconds'],
        message: 'a threshold above 1 needs a window (or consecutive: true)',
      });
    }
    const disablesForDuration = rule.actions.includes('DISABLE_KEY') && rule.disableMode === 'DURATION';
    if (disablesForDuration && !(rule.disableForSeconds !== null && rule.disableForSeconds > 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['disableForSeconds'],
        message: 'DISABLE_KEY with disableMode DURATION needs disableForSeconds > 0',
      });
    }
  });

export type RuleSettings = Omit<RuleDefinition, 'id' | 'upstreamId' | 'enabled' | 'condition'>;

/** Throws `RuleValidationError` naming the first bad setting (e.g. `threshold`). */
export function assertRuleSettings(input: RuleSettings, fieldPrefix = ''): void {
  const result = ruleSettingsSchema.safeParse(input);
  if (!result.success) throw fromZodIssue(result.error.issues[0], fieldPrefix);
}
