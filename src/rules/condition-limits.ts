import { RuleValidationError, joinField } from './errors.ts';

// Conditions are evaluated on every upstream response; these bounds keep one
// rule's cost small and predictable and stop absurd inputs before zod recurses.
export const MAX_CONDITION_DEPTH = 8;
export const MAX_CONDITION_NODES = 100;

const COMBINATORS = ['all', 'any', 'not'] as const;

/**
 * Walks only the combinator keys of the raw input, so it is safe on anything a
 * client sends (deeply nested or huge arrays stop at the first limit hit).
 */
export function assertConditionLimits(input: unknown, fieldPrefix: string): void {
  let nodes = 0;

  const visit = (node: unknown, depth: number, path: PropertyKey[]): void => {
    if (depth > MAX_CONDITION_DEPTH) {
      throw new RuleValidationError(
        joinField(fieldPrefix, path),
        `conditions may be nested at most ${MAX_CONDITION_DEPTH} levels deep`,
      );
    }
    nodes += 1;
    if (nodes > MAX_CONDITION_NODES) {
      throw new RuleValidationError(
        fieldPrefix,
        `a condition may have at most ${MAX_CONDITION_NODES} nodes`,
      );
    }
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
    const record = node as Record<string, unknown>;
    for (const key of COMBINATORS) {
      const child = record[key];
      if (key === 'not') {
        if (child !== undefined) visit(child, depth + 1, [...path, key]);
      } else if (Array.isArray(child)) {
        child.forEach((item, index) => visit(item, depth + 1, [...path, key, index]));
      }
    }
  };

  visit(input, 1, []);
}
