import type { ResponseSample } from '../state/types.ts';
import { compileCondition, type CompiledCondition } from './compile.ts';
import { createEvalContext } from './eval-context.ts';
import { RuleValidationError } from './errors.ts';
import { explicitlyTargetsStatus, isClientError } from './status-guard.ts';

export interface ConditionTestResult {
  matched: boolean;
  needsBody: boolean;
  /** The gateway would skip the rule for this status (a client error the condition does not name). */
  skippedAsClientError: boolean;
}

export interface LogTestResult {
  matchedLogIds: number[];
  evaluated: number;
  bodiesMissing: number;
}

/** A stored request log row, as much of it as a condition can read. */
export interface LoggedResponse {
  id: number;
  status: number;
  latencyMs: number;
  responseBody: string | null;
}

export interface SampleInput {
  status: number;
  headers?: unknown;
  body?: string | null;
  latencyMs?: number | null;
}

function toHeaders(input: unknown): ResponseSample['headers'] {
  if (input === null || input === undefined) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new RuleValidationError('sample.headers', 'must be an object of header name to value');
  const headers: ResponseSample['headers'] = {};
  for (const [name, value] of Object.entries(input)) {
    const ok = typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
    if (!ok) throw new RuleValidationError(`sample.headers.${name}`, 'must be a string or a list of strings');
    headers[name.toLowerCase()] = value as string | string[];
  }
  return headers;
}

/** Compiles a condition for a dry run; throws RuleValidationError naming the field (`condition.…`). */
export function compileForDryRun(condition: unknown): CompiledCondition {
  return compileCondition(condition, 'condition');
}

/** Evaluates a condition against one sample response, as the gateway would (the body as captured). */
export function testCondition(condition: unknown, sample: SampleInput): ConditionTestResult {
  const compiled = compileForDryRun(condition);
  const response: ResponseSample = { status: sample.status, headers: toHeaders(sample.headers), body: sample.body ?? null, latencyMs: sample.latencyMs ?? 0 };
  return {
    matched: compiled.test(createEvalContext(response)),
    needsBody: compiled.needsBody,
    skippedAsClientError: isClientError(sample.status) && !explicitlyTargetsStatus(compiled.source, sample.status),
  };
}

/**
 * Evaluates a condition against stored log rows. Response headers are not
 * stored, so header leaves see none; a row without a stored body cannot
 * satisfy a body leaf and is counted in `bodiesMissing` when the condition
 * reads the body. The client-error guard is not applied: this shows what the
 * condition matches.
 */
export function testConditionAgainstRows(condition: unknown, rows: readonly LoggedResponse[]): LogTestResult {
  const compiled = compileForDryRun(condition);
  const matchedLogIds: number[] = [];
  let bodiesMissing = 0;
  for (const row of rows) {
    if (compiled.needsBody && row.responseBody === null) bodiesMissing++;
    const ctx = createEvalContext({ status: row.status, headers: {}, body: row.responseBody, latencyMs: row.latencyMs });
    if (compiled.test(ctx)) matchedLogIds.push(row.id);
  }
  return { matchedLogIds, evaluated: rows.length, bodiesMissing };
}
