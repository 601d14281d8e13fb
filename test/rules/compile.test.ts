import { describe, expect, it } from 'vitest';
import { compileCondition } from '../../src/rules/compile.ts';
import { RuleValidationError } from '../../src/rules/errors.ts';
import { contextOf } from './sample.ts';

function errorOf(input: unknown): RuleValidationError {
  try {
    compileCondition(input);
  } catch (error) {
    if (error instanceof RuleValidationError) return error;
    throw error;
  }
  throw new Error('expected a validation error');
}

describe('combinators', () => {
  const serverError = { status: { min: 500, max: 599 } };
  const slow = { latencyMs: { gt: 1000 } };

  it('all needs every child, any needs one, not negates', () => {
    const all = compileCondition({ all: [serverError, slow] });
    const any = compileCondition({ any: [serverError, slow] });
    const not = compileCondition({ not: serverError });
    const cases = [
      { status: 503, latencyMs: 2000, all: true, any: true, not: false },
      { status: 503, latencyMs: 10, all: false, any: true, not: false },
      { status: 200, latencyMs: 2000, all: false, any: true, not: true },
      { status: 200, latencyMs: 10, all: false, any: false, not: true },
    ];
    for (const { status, latencyMs, ...expected } of cases) {
      const ctx = contextOf({ status, latencyMs });
      expect({ all: all.test(ctx), any: any.test(ctx), not: not.test(ctx) }).toEqual(expected);
    }
  });

  it('evaluates deep nesting', () => {
    const condition = {
      all: [
        { not: { status: { equals: 200 } } },
        { any: [{ body: { contains: 'overloaded' } }, { not: { not: { header: { name: 'x-retry', exists: true } } } }] },
      ],
    };
    const compiled = compileCondition(condition);
    expect(compiled.test(contextOf({ status: 529, body: 'server overloaded' }))).toBe(true);
    expect(compiled.test(contextOf({ status: 529, body: '{}', headers: { 'x-retry': '1' } }))).toBe(true);
    expect(compiled.test(contextOf({ status: 529, body: '{}' }))).toBe(false);
    expect(compiled.test(contextOf({ status: 200, body: 'overloaded' }))).toBe(false);
  });

  it('reports needsBody only when a body or jsonPath leaf is present', () => {
    expect(compileCondition({ all: [{ status: { equals: 500 } }, { header: { name: 'a', exists: true } }] }).needsBody).toBe(false);
    expect(compileCondition({ not: { any: [{ latencyMs: { gt: 1 } }, { body: { contains: 'x' } }] } }).needsBody).toBe(true);
    expect(compileCondition({ jsonPath: { path: '$.a', exists: true } }).needsBody).toBe(true);
  });

  it('keeps the validated source', () => {
    const source = { any: [{ status: { equals: 429 } }] };
    expect(compileCondition(source).source).toEqual(source);
  });
});

describe('regex compilation (RE2)', () => {
  it.each([
    ['(a)\\1', 'condition.body.regex'],
    ['(?=a)b', 'condition.body.regex'],
    ['(?<=a)b', 'condition.body.regex'],
    ['[unclosed', 'condition.body.regex'],
  ])('rejects %s with the field path', (regex, field) => {
    const error = errorOf({ body: { regex } });
    expect(error.field).toBe(field);
    expect(error.message).toMatch(/invalid regular expression/);
  });

  it('names the exact nested field for header and jsonPath regexes', () => {
    expect(errorOf({ all: [{ status: { equals: 500 } }, { body: { regex: '(?!x)' } }] }).field).toBe(
      'condition.all.1.body.regex',
    );
    expect(errorOf({ any: [{ header: { name: 'a', regex: 'a**' } }] }).field).toBe('condition.any.0.header.regex');
    expect(errorOf({ not: { jsonPath: { path: '$.a', regex: '(' } } }).field).toBe('condition.not.jsonPath.regex');
  });

  it('runs (a+)+$ over a 30 KB body in linear time', () => {
    const compiled = compileCondition({ body: { regex: '(a+)+$' } });
    const body = `${'a'.repeat(30_000)}!`;
    const started = performance.now();
    const matched = compiled.test(contextOf({ body }));
    const elapsed = performance.now() - started;
    expect(matched).toBe(false);
    // A backtracking engine needs ~2^30000 steps here; RE2 needs one pass.
    expect(elapsed).toBeLessThan(2000); // generous for a loaded machine; backtracking would never finish
    expect(compiled.test(contextOf({ body: 'a'.repeat(30_000) }))).toBe(true);
  });
});

describe('JSONPath compilation', () => {
  it.each([
    ['$.items[?(@.price < 10)]', /filter and script/],
    ['$..[?(@.x)]', /filter and script/],
    ['$.items[(@.length-1)]', /filter and script/],
    ['error.code', /must start with "\$"/],
    ['$error', /after "\$"/],
    ['$.a[0', /unbalanced "\["/],
    ["$['a]", /unterminated/],
    ['$.a.', /unexpected "\."/],
  ])('rejects %s naming condition…jsonPath.path', (path, message) => {
    const error = errorOf({ all: [{ jsonPath: { path, exists: true } }] });
    expect(error.field).toBe('condition.all.0.jsonPath.path');
    expect(error.message).toMatch(message);
  });

  it('accepts ordinary paths', () => {
    for (const path of ['$', '$.error.code', "$['error']['code']", '$..message', '$.choices[*].delta', '$.a[0:2]']) {
      expect(() => compileCondition({ jsonPath: { path, exists: true } })).not.toThrow();
    }
  });
});
