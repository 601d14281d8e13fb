import { describe, expect, it } from 'vitest';
import { compileRule, evaluateRules } from '../../src/rules/evaluate.ts';
import { RULE_PRESETS } from '../../src/rules/presets.ts';
import { contextOf } from './sample.ts';

const compiled = RULE_PRESETS.map((preset) =>
  compileRule({ ...preset.rule, id: preset.id, upstreamId: null, enabled: true }),
);
const matching = (overrides: Parameters<typeof contextOf>[0]): string[] =>
  evaluateRules(compiled, contextOf(overrides), 'complete').map((rule) => rule.def.id);

describe('RULE_PRESETS', () => {
  it('has the four presets with unique ids, all of which compile', () => {
    expect(RULE_PRESETS.map((preset) => preset.id).sort()).toEqual([
      'ban-on-auth-failure',
      'consecutive-5xx',
      'cooldown-on-rate-limit',
      'disable-until-quota-reset',
    ]);
    expect(compiled).toHaveLength(RULE_PRESETS.length);
  });

  it('matches the responses each preset is meant for', () => {
    expect(matching({ status: 401 })).toEqual(['ban-on-auth-failure']);
    expect(matching({ status: 403 })).toEqual(['ban-on-auth-failure']);
    expect(matching({ status: 429, body: '{"error":{"message":"slow down"}}' })).toEqual(['cooldown-on-rate-limit']);
    expect(matching({ status: 503, body: 'unavailable' })).toEqual(['consecutive-5xx']);
    expect(matching({ status: 200, body: '{"ok":true}' })).toEqual([]);
  });

  it('sends quota errors to the quota preset first', () => {
    const openai = '{"error":{"code":"insufficient_quota","message":"You exceeded your current quota"}}';
    expect(matching({ status: 429, body: openai })).toEqual(['disable-until-quota-reset', 'cooldown-on-rate-limit']);
    expect(matching({ status: 403, body: 'Daily Quota Exceeded' })).toEqual([
      'ban-on-auth-failure',
      'disable-until-quota-reset',
    ]);
  });

  it('does not disable a key because a successful completion mentions a quota', () => {
    expect(matching({ status: 200, body: '{"choices":[{"text":"the API said quota exceeded"}]}' })).toEqual([]);
  });

  it('sets the documented actions and durations', () => {
    const byId = new Map(RULE_PRESETS.map((preset) => [preset.id, preset.rule]));
    expect(byId.get('ban-on-auth-failure')?.actions).toEqual(['BAN_KEY', 'ALERT']);
    expect(byId.get('cooldown-on-rate-limit')).toMatchObject({
      disableForSeconds: 60,
      escalate: true,
      maxDisableSeconds: 3600,
      scope: 'KEY_MODEL',
    });
    expect(byId.get('disable-until-quota-reset')?.disableMode).toBe('QUOTA_RESET');
    expect(byId.get('consecutive-5xx')).toMatchObject({ threshold: 5, consecutive: true, disableForSeconds: 30, escalate: true });
  });
});
