import { RE2JS } from 're2js';
import { RuleValidationError } from './errors.ts';

// RE2 runs in time linear in the input, so a user-supplied pattern cannot
// stall the proxy on a large body the way a backtracking engine can.
// A compiled program this large costs more per byte than a rule is worth.
const MAX_PROGRAM_SIZE = 10_000;

export interface CompiledRegex {
  test(input: string): boolean;
}

/** Compiles a rule regex once, turning RE2 syntax errors into a `RuleValidationError` on `field`. */
export function compileRegex(pattern: string, ignoreCase: boolean, field: string): CompiledRegex {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RuleValidationError(
      field,
      `invalid regular expression (RE2 syntax; backreferences and lookaround are not supported): ${reason}`,
    );
  }
  if (compiled.programSize() > MAX_PROGRAM_SIZE) {
    throw new RuleValidationError(field, 'regular expression is too complex; simplify the pattern');
  }
  return { test: (input) => compiled.test(input) };
}
