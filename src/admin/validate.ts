import type { z } from 'zod';
import { UserInputError } from '../errors.ts';
import { findNul, NO_CONTROL_MESSAGE } from '../text.ts';

/** Parses input with a zod schema; the first problem becomes a UserInputError naming the field. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, prefix = 'input'): z.infer<T> {
  // No stored or searched text may hold a NUL (PostgreSQL refuses it), whatever the schema says of the field.
  const nul = findNul(value);
  if (nul !== null) {
    const field = [prefix, ...nul].filter(Boolean).join('.');
    throw new UserInputError(`${field}: ${NO_CONTROL_MESSAGE}`, field);
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
  throw new UserInputError(`${field}: ${issue.message}`, field);
}
