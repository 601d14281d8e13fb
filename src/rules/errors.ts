import type { z } from 'zod';

/**
 * A rule or condition that cannot be saved. `field` is the dotted input path
 * (e.g. `condition.all.1.body.regex`) so the admin API can report it as
 * `extensions.field` and a form can highlight the exact input.
 */
export class RuleValidationError extends Error {
  override readonly name = 'RuleValidationError';
  /** Stable code for the error mapper; matches the GraphQL BAD_USER_INPUT family. */
  readonly code = 'INVALID_RULE';
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

export function joinField(prefix: string, path: readonly PropertyKey[]): string {
  return [prefix, ...path.map(String)].filter((part) => part !== '').join('.');
}

/** Reports the first zod issue; unknown keys point at the key itself rather than its parent. */
export function fromZodIssue(issue: z.core.$ZodIssue, fieldPrefix: string): RuleValidationError {
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    return new RuleValidationError(joinField(fieldPrefix, [...issue.path, key]), `unknown key "${key}"`);
  }
  return new RuleValidationError(joinField(fieldPrefix, issue.path), issue.message);
}
