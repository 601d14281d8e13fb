// What the client gets when the attempt loop ends without a streamed answer,
// and how an attempt's outcome is counted (per-key errors, retry reasons).
import type { Attempt, AttemptEnd } from './attempt.ts';
import { classifyFailure, clientErrorFor, type Failure } from './proxy-errors.ts';
import type { ProxyDeps } from './proxy-deps.ts';
import type { ProxyRequest } from './proxy-request.ts';
import { sendBuffered, sendError } from './respond.ts';

const FAILURE_REASONS: Partial<Record<Failure['kind'], string>> = { connect: 'connect_error', headers_timeout: 'timeout', protocol: 'connection_broken' };
const NOT_THE_KEYS_FAULT: ReadonlySet<Failure['kind']> = new Set(['client_closed', 'request_body', 'config']);

/** For the per-key error series: no answer (unless the client or the request caused it), or a status that speaks against the key. */
export function faultOfKey(attempt: Attempt, end: AttemptEnd): boolean {
  if (end.kind === 'failed') return !NOT_THE_KEYS_FAULT.has(classifyFailure(end.error, attempt.started).kind);
  const s = attempt.status;
  return s === 401 || s === 403 || s === 429 || s >= 500;
}

/** The retries-by-reason label of a failed attempt that is retried. */
export function retryReasonOf(failure: Failure): string {
  return FAILURE_REASONS[failure.kind] ?? failure.kind;
}

/**
 * The upstream's own answer, also when retries are spent or not allowed: a
 * provider's 500 carries its message, which a gateway error would lose
 * (scrubbed of keys like every error body; keyrelay's headers added).
 */
export function answerWithResponse(pr: ProxyRequest, attempt: Attempt, redactor: ProxyDeps['redactor']): void {
  if (pr.clientGone) return;
  const status = attempt.status;
  pr.responseRaw = attempt.body();
  pr.responseEncoding = attempt.headers['content-encoding'];
  pr.responseType = attempt.headers['content-type'];
  pr.outcome = status < 400 ? 'ok' : 'upstream_error';
  if (status >= 400) pr.error = `upstream answered ${status}`;
  pr.measureOverhead();
  sendBuffered(pr, attempt, pr.responseRaw, pr.secrets, redactor);
}

/** keyrelay's own error for an attempt that got no answer to pass on (connect error, timeout, broken connection). */
export function answerWithFailure(pr: ProxyRequest, failure: Failure): void {
  if (pr.clientGone) return;
  const error = clientErrorFor(failure.kind, pr.attempts);
  pr.outcome = failure.kind === 'headers_timeout' || failure.kind === 'body_timeout' ? 'timeout' : failure.kind === 'request_body' ? 'rejected' : 'upstream_unreachable';
  pr.error = failure.detail;
  pr.measureOverhead();
  sendError(pr, error.code, error.message);
}
