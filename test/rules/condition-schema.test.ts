import { describe, expect, it } from 'vitest';
import { parseCondition } from '../../src/rules/condition-schema.ts';
import { RuleValidationError } from '../../src/rules/errors.ts';

function fieldOf(input: unknown): string {
  try {
    parseCondition(input);
  } catch (error) {
    expect(error).toBeInstanceOf(RuleValidationError);
    return (error as RuleValidationError).field;
  }
  throw new Error('expected a validation error');
}

function nestNot(depth: number): unknown {
  let node: unknown = { status: { equals: 500 } };
  for (let level = 1; level < depth; level += 1) node = { not: node };
  return node;
}

describe('parseCondition', () => {
  it('accepts every condition kind and returns the same shape', () => {
    const input = {
      all: [
        { status: { in: [500, 502] } },
        { body: { contains: 'x', ignoreCase: true } },
        { jsonPath: { path: '$.error', exists: true } },
        { header: { name: 'x-a', equals: 'b' } },
        { latencyMs: { gt: 10 } },
        { any: [{ not: { status: { min: 400, max: 499 } } }] },
      ],
    };
    expect(parseCondition(input)).toEqual(input);
  });

  it('requires exactly one key per object', () => {
    expect(fieldOf({})).toBe('condition');
    expect(fieldOf({ status: { equals: 500 }, body: { contains: 'x' } })).toBe('condition');
    expect(() => parseCondition({ status: { equals: 500 }, latencyMs: { gt: 1 } })).toThrow(/exactly one/);
  });

  it('requires a comparator on each leaf', () => {
    expect(fieldOf({ status: {} })).toBe('condition.status');
    expect(fieldOf({ body: { ignoreCase: true } })).toBe('condition.body');
    expect(fieldOf({ jsonPath: { path: '$.a' } })).toBe('condition.jsonPath');
    expect(fieldOf({ header: { name: 'x' } })).toBe('condition.header');
    expect(fieldOf({ latencyMs: {} })).toBe('condition.latencyMs');
  });

  it('names nested fields with a dotted path', () => {
    expect(fieldOf({ all: [{ status: { equals: 500 } }, { body: { regex: 7 } }] })).toBe('condition.all.1.body.regex');
    expect(fieldOf({ any: [{ not: { status: { equals: 'x' } } }] })).toBe('condition.any.0.not.status.equals');
    expect(fieldOf({ status: { equals: 500, unknown: 1 } })).toBe('condition.status.unknown');
    expect(fieldOf({ header: { equals: 'x' } })).toBe('condition.header.name');
  });

  it('rejects empty all/any, bad ranges and contradictions', () => {
    expect(fieldOf({ all: [] })).toBe('condition.all');
    expect(fieldOf({ any: [] })).toBe('condition.any');
    expect(fieldOf({ status: { min: 500, max: 400 } })).toBe('condition.status.max');
    expect(fieldOf({ status: { equals: 99 } })).toBe('condition.status.equals');
    expect(fieldOf({ latencyMs: { gt: 10, lt: 5 } })).toBe('condition.latencyMs.lt');
    expect(fieldOf({ jsonPath: { path: '$.a', exists: false, equals: 1 } })).toBe('condition.jsonPath.exists');
    expect(fieldOf({ header: { name: 'a', exists: false, contains: 'x' } })).toBe('condition.header.exists');
  });

  it('rejects non-objects', () => {
    expect(fieldOf(null)).toBe('condition');
    expect(fieldOf('status')).toBe('condition');
    expect(fieldOf([{ status: { equals: 1 } }])).toBe('condition');
  });

  it('uses the given field prefix', () => {
    expect(() => parseCondition({ status: {} }, 'input.condition')).toThrow(
      expect.objectContaining({ field: 'input.condition.status' }),
    );
  });

  it('allows depth 8 and rejects depth 9 at the too-deep node', () => {
    expect(() => parseCondition(nestNot(8))).not.toThrow();
    const error = (() => {
      try {
        parseCondition(nestNot(9));
      } catch (caught) {
        return caught as RuleValidationError;
      }
      throw new Error('expected a validation error');
    })();
    expect(error.field).toBe(`condition${'.not'.repeat(8)}`);
    expect(error.message).toMatch(/at most 8 levels/);
  });

  it('counts depth through all/any arrays too', () => {
    let node: unknown = { status: { equals: 500 } };
    for (let level = 1; level < 9; level += 1) node = { all: [node] };
    expect(fieldOf(node)).toBe(`condition${'.all.0'.repeat(8)}`);
  });

  it('rejects more than 100 nodes', () => {
    const leaf = { status: { equals: 500 } };
    expect(() => parseCondition({ any: Array.from({ length: 99 }, () => leaf) })).not.toThrow();
    expect(() => parseCondition({ any: Array.from({ length: 100 }, () => leaf) })).toThrow(/at most 100 nodes/);
    expect(fieldOf({ any: Array.from({ length: 100_000 }, () => leaf) })).toBe('condition');
  });
});
