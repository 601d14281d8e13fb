import { describe, expect, it } from 'vitest';
import type { RuleCondition, RuleDefinition } from '../../src/state/types.ts';
import { RuleValidationError } from '../../src/rules/errors.ts';
import { compileRule, evaluateRules, explicitlyTargetsStatus, isClientError } from '../../src/rules/evaluate.ts';
import { contextOf } from './sample.ts';

function definition(overrides: Partial<RuleDefinition> = {}): RuleDefinition {
  return {
    id: overrides.name ?? 'rule',
    upstreamId: null,
    name: 'rule',
    condition: { status: { equals: 500 } },
    actions: ['LOG'],
    threshold: 1,
    windowSeconds: 60,
    consecutive: false,
    cooldownSeconds: 0,
    disableMode: 'DURATION',
    disableForSeconds: 30,
    escalate: false,
    maxDisableSeconds: 0,
    scope: 'KEY',
    priority: 100,
    enabled: true,
    ...overrides,
  };
}

const names = (rules: { def: RuleDefinition }[]): string[] => rules.map((rule) => rule.def.name);

describe('compileRule', () => {
  it('keeps the definition and exposes needsBody', () => {
    const def = definition({ condition: { body: { contains: 'x' } } });
    const compiled = compileRule(def);
    expect(compiled.def).toBe(def);
    expect(compiled.needsBody).toBe(true);
  });

  it('reports condition and setting errors with their field', () => {
    expect(() => compileRule(definition({ condition: { body: { regex: '(?=x)' } } }))).toThrow(
      expect.objectContaining({ field: 'condition.body.regex' }),
    );
    const bad: [Partial<RuleDefinition>, string][] = [
      [{ threshold: 0 }, 'threshold'],
      [{ actions: [] }, 'actions'],
      [{ threshold: 3, windowSeconds: 0 }, 'windowSeconds'],
      [{ actions: ['DISABLE_KEY'], disableForSeconds: null }, 'disableForSeconds'],
    ];
    for (const [overrides, field] of bad) {
      expect(() => compileRule(definition(overrides))).toThrow(RuleValidationError);
      expect(() => compileRule(definition(overrides))).toThrow(expect.objectContaining({ field }));
    }
  });
});

describe('evaluateRules', () => {
  const rules = [
    definition({ name: 'late', priority: 50, condition: { status: { min: 500 } } }),
    definition({ name: 'body-b', priority: 10, condition: { body: { contains: 'overloaded' } } }),
    definition({ name: 'body-a', priority: 10, condition: { jsonPath: { path: '$.error', exists: true } } }),
    definition({ name: 'never', priority: 1, condition: { status: { equals: 200 } } }),
    definition({ name: 'disabled', priority: 1, enabled: false, condition: { status: { min: 500 } } }),
  ].map(compileRule);
  const ctx = contextOf({ status: 529, body: '{"error": {"message": "overloaded"}}' });

  it('returns matching enabled rules by priority, then name', () => {
    expect(names(evaluateRules(rules, ctx, 'complete'))).toEqual(['body-a', 'body-b', 'late']);
  });

  it('only decides body-free rules in the headers phase', () => {
    expect(names(evaluateRules(rules, contextOf({ status: 529 }), 'headers'))).toEqual(['late']);
  });

  it('returns nothing when nothing matches', () => {
    expect(evaluateRules(rules, contextOf({ status: 404, body: 'nope' }), 'complete')).toEqual([]);
  });
});

describe('client-error guard rail', () => {
  it('isClientError covers 4xx except auth, timeout and rate limit', () => {
    expect([400, 404, 413, 422, 409].map(isClientError)).toEqual([true, true, true, true, true]);
    expect([401, 403, 408, 429, 500, 200].map(isClientError)).toEqual([false, false, false, false, false, false]);
  });

  it('explicitlyTargetsStatus accepts equals, in, and ranges below 500', () => {
    const cases: [RuleCondition, number, boolean][] = [
      [{ status: { equals: 404 } }, 404, true],
      [{ status: { in: [400, 422] } }, 422, true],
      [{ status: { in: [400, 422] } }, 404, false],
      [{ status: { min: 400, max: 499 } }, 413, true],
      [{ status: { max: 450 } }, 413, true],
      [{ status: { min: 420, max: 499 } }, 413, false],
      [{ status: { min: 400, max: 599 } }, 404, false],
      [{ status: { min: 400 } }, 404, false],
      [{ body: { contains: 'error' } }, 400, false],
      [{ all: [{ body: { contains: 'x' } }, { any: [{ status: { equals: 400 } }] }] }, 400, true],
      [{ not: { status: { equals: 404 } } }, 404, false],
      [{ not: { not: { status: { equals: 404 } } } }, 404, true],
    ];
    for (const [condition, status, expected] of cases) {
      expect({ condition, status, result: explicitlyTargetsStatus(condition, status) }).toEqual({
        condition,
        status,
        result: expected,
      });
    }
  });
});
