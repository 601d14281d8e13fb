import type { ResponseSample } from '../../src/state/types.ts';
import { createEvalContext, type EvalContext } from '../../src/rules/eval-context.ts';

/** A response as the proxy would sample it; override only what a test is about. */
export function sampleOf(overrides: Partial<ResponseSample> = {}): ResponseSample {
  return { status: 200, headers: {}, body: null, latencyMs: 100, ...overrides };
}

export function contextOf(overrides: Partial<ResponseSample> = {}): EvalContext {
  return createEvalContext(sampleOf(overrides));
}

export function jsonContext(value: unknown, status = 200): EvalContext {
  return contextOf({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
}
