// What a failed script run reports: a message and, when the fault is in the
// admin's script, its line and column there. Messages are redacted of the
// script's secrets (a script may throw `env.X`) and never carry a stack.

import type { Redactor } from '../logs/redact.ts';

/** The file name scripts are compiled under; stack frames in it point into the admin's text. */
export const SCRIPT_FILE = 'headerScript';
/** The script body starts on the second line of the compiled source (after the function head). */
const LINE_OFFSET = 1;
const FRAME = new RegExp(`${SCRIPT_FILE}:(\\d+)(?::(\\d+))?`);
const MAX_MESSAGE = 300;

export type ScriptFailureKind = 'compile' | 'throw' | 'timeout' | 'memory' | 'result';

export class ScriptError extends Error {
  constructor(
    readonly kind: ScriptFailureKind,
    message: string,
    readonly line: number | null = null,
    readonly column: number | null = null,
  ) {
    super(message);
    this.name = 'ScriptError';
  }

  /** "message (line 3, column 7)", for BAD_USER_INPUT and logs. */
  describe(): string {
    if (this.line === null) return this.message;
    return `${this.message} (line ${this.line}${this.column !== null ? `, column ${this.column}` : ''})`;
  }
}

interface DumpedError {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
  lineNumber?: unknown;
}

/** Turns what QuickJS threw (as `context.dump` gives it) into a ScriptError. */
export function toScriptError(dumped: unknown, compiling: boolean, secrets: readonly string[], redactor: Redactor): ScriptError {
  const e = (typeof dumped === 'object' && dumped !== null ? dumped : { message: String(dumped) }) as DumpedError;
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const raw = typeof e.message === 'string' ? e.message : String(dumped);
  const message = redactor.redact(`${name}: ${raw}`, secrets).slice(0, MAX_MESSAGE);
  const kind: ScriptFailureKind = compiling ? 'compile' : raw === 'interrupted' ? 'timeout' : raw === 'out of memory' ? 'memory' : 'throw';
  const text = kind === 'timeout' ? `the script ran past its time limit` : kind === 'memory' ? 'the script ran out of memory' : message;
  const match = typeof e.stack === 'string' ? FRAME.exec(e.stack) : null;
  let line = match ? Number(match[1]) : typeof e.lineNumber === 'number' ? e.lineNumber : null;
  let column = match?.[2] !== undefined ? Number(match[2]) : null;
  if (line !== null) line -= LINE_OFFSET;
  // A fault on the wrapper's own lines (the head or the closing brace) has no place in the admin's text.
  if (line !== null && line < 1) line = column = null;
  return new ScriptError(kind, text, line, column);
}
