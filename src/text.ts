// Text the admin API stores or searches with. PostgreSQL cannot hold a NUL
// in text at all, and control characters in a name, a reason or a filter are
// never meant: they are refused as bad input naming the field, never left to
// fail in the database as an internal error.

import { z } from 'zod';
import { UserInputError } from './errors.ts';

/** C0 controls, DEL and C1 controls. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** The same, but tab and line breaks are allowed (free text such as a reason). */
const CONTROL_EXCEPT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

export const NO_CONTROL_MESSAGE = 'must not contain NUL or other control characters';

export const hasControlChars = (s: string): boolean => CONTROL.test(s);

/** A one-line string: names, ids, search and filter text. */
export const plainText = () => z.string().refine((s) => !CONTROL.test(s), NO_CONTROL_MESSAGE);

/** Free text that may span lines (a reason), but never NUL or other controls. */
export const freeText = () => z.string().refine((s) => !CONTROL_EXCEPT_LINES.test(s), NO_CONTROL_MESSAGE);

/** Throws a UserInputError naming `field` when a one-line argument holds control characters. */
export function assertPlainText(value: string | null | undefined, field: string): void {
  if (value != null && CONTROL.test(value)) throw new UserInputError(`${field}: ${NO_CONTROL_MESSAGE}`, field);
}

/** The path of the first string holding a NUL anywhere in `value` (depth-bounded), or null. */
export function findNul(value: unknown, path: string[] = [], depth = 0): string[] | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (value === null || typeof value !== 'object' || depth > 32 || value instanceof Date) return null;
  for (const [k, v] of Object.entries(value)) {
    const found = findNul(v, [...path, k], depth + 1);
    if (found !== null) return found;
  }
  return null;
}
