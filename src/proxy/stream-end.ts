// Rules and the end of a streamed response. Rules see each upstream response
// once: 'headers' when it starts streaming and 'body' (on the bounded
// capture) when it ends, or 'all' for a response that was buffered whole.

import { decodeBody } from '../inspect/decode-body.ts';
import type { RuleOutcome, RulePhase } from '../rules/runtime-types.ts';
import type { Attempt } from './attempt.ts';
import type { ProxyDeps } from './proxy-deps.ts';
import { classifyFailure } from './proxy-errors.ts';
import type { ProxyRequest } from './proxy-request.ts';
import { endInterrupted } from './respond.ts';
import { GatewayShutdown } from './shutdown.ts';

function anyRuleReadsBody(pr: ProxyRequest): boolean {
  for (const rule of pr.upstream!.rules) if (rule.needsBody) return true;
  return false;
}

/** Runs the rule runtime on an attempt's response; `body` only matters in the 'body' and 'all' phases. */
export function observeRules(deps: ProxyDeps, pr: ProxyRequest, attempt: Attempt, body: Buffer | null, phase: RulePhase): RuleOutcome {
  // Decoding is only worth it when some rule reads the body.
  const text = body !== null && phase !== 'headers' && anyRuleReadsBody(pr) ? (decodeBody(body, attempt.headers['content-encoding'], attempt.captureCap)?.text ?? '') : null;
  const latencyMs = (phase === 'headers' ? attempt.headersAt : attempt.endedAt) - attempt.dispatchedAt;
  const outcome = deps.rules.observe(
    { upstream: pr.upstream!, key: attempt.key, model: pr.model, requestId: pr.requestId, sample: { status: attempt.status, headers: attempt.headers, body: text, latencyMs } },
    phase,
  );
  pr.addMatched(outcome.matchedRuleIds);
  return outcome;
}

/** After a streamed response ended (or broke off): body rules, usage, outcome, and the client's error ending. */
export function finishStream(deps: ProxyDeps, pr: ProxyRequest, attempt: Attempt, error: unknown): void {
  const capture = attempt.capture!;
  pr.bytesOut = attempt.bytesOut;
  pr.responseRaw = capture.buffer();
  pr.responseRawTruncated = capture.truncated;
  pr.responseEncoding = attempt.headers['content-encoding'];
  pr.responseType = attempt.headers['content-type'];
  pr.usage = attempt.scanner?.usage ?? null;
  if (anyRuleReadsBody(pr)) observeRules(deps, pr, attempt, pr.responseRaw, 'body');
  if (error === null) {
    pr.outcome = attempt.status < 400 ? 'ok' : 'upstream_error';
    if (attempt.status >= 400) pr.error = `upstream answered ${attempt.status}`;
    return;
  }
  if (pr.clientGone) return;
  const failure = classifyFailure(error, true);
  pr.outcome = 'stream_interrupted';
  pr.error = failure.detail;
  if (error instanceof GatewayShutdown) endInterrupted(pr.res, attempt.isEventStream, 'GATEWAY_SHUTTING_DOWN', error.message);
  else endInterrupted(pr.res, attempt.isEventStream, 'UPSTREAM_STREAM_INTERRUPTED', 'the upstream stream broke off before it was complete');
}
