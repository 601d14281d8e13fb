import type { z } from 'zod';
import { UserInputError } from '../errors.ts';

/** Parses input with a zod schema; the first problem becomes a UserInputError naming the field. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, prefix = 'input'): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
  throw new UserInputError(`${field}: ${issue.message}`, field);
}
