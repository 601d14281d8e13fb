// The attempt loop for one client request: pick a key, reserve its quota,
// send, and on a retryable outcome try again on another key, with full-jitter
// backoff, inside one deadline and the retry budget, and never once a byte
// has reached the client. Retryable: a connect failure (the upstream never
// saw the request); a status in the upstream's retry list (never 400, 404,
// 413, 422); a rule that took the key out; and, for idempotent methods only,
// a headers timeout or a connection that broke before the response (a POST
// may already be running, and billing, upstream: nginx's
// non_idempotent rule).

import type { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { ApiKeyState } from '../state/types.ts';
import { Attempt, type AttemptEnd, type AttemptHooks } from './attempt.ts';
import { parseRetryAfter, retryDelay } from '../upstream-http/backoff.ts';
import { appendQueryParam } from '../upstream-http/target-url.ts';
import { buildUpstreamHeaders } from '../upstream-http/headers.ts';
import { acquireKey } from './key-wait.ts';
import { hasQuota } from '../state/pool-entry.ts';
import type { ProxyDeps } from './proxy-deps.ts';
import { classifyFailure, type Failure } from './proxy-errors.ts';
import { answerWithFailure, answerWithResponse, faultOfKey, retryReasonOf } from './final-answer.ts';
import type { ProxyRequest } from './proxy-request.ts';
import { commitHead, sendError } from './respond.ts';
import { finishStream, observeRules } from './stream-end.ts';
import { applyHeaderScript } from '../scripts/apply-script.ts';
import type { ScriptHeaders } from '../scripts/script-headers.ts';
import { scriptRequestBase, type ScriptRequestBase } from '../scripts/script-request.ts';

/** Client credential headers, never forwarded (the pool key is injected instead). */
const CLIENT_CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'x-api-key', 'x-goog-api-key']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Error bodies are buffered up to this much when the upstream logs less (rules read them). */
const MIN_BUFFER_BYTES = 64 * 1024;

export type Payload = Buffer | Readable | null;

export class Forwarder implements AttemptHooks {
  private exclude: Set<string> | null = null;
  private retryForNext = false;
  private retryForCurrent = false;
  private readonly deadlineAt: number;
  private readonly maxAttempts: number;
  private readonly bufferCap: number;
  private readonly idempotent: boolean;
  /** The last attempt that produced a whole response, kept for when no retry follows. */
  private lastResponse: Attempt | null = null;
  private lastFailure: Failure | null = null;
  /** The header script's request, serialised once per request (scripted upstreams only). */
  private scriptBase: ScriptRequestBase | null = null;

  constructor(
    private readonly deps: ProxyDeps,
    private readonly pr: ProxyRequest,
    private readonly rawHeaders: readonly string[],
    private readonly upstreamPath: string,
    private readonly payload: Payload,
    private readonly contentLength: number | null,
    private readonly replayable: boolean,
  ) {
    const config = pr.upstream!.config;
    this.deadlineAt = pr.t0 + config.deadlineMs;
    this.maxAttempts = replayable ? 1 + config.maxRetries : 1;
    this.bufferCap = Math.max(config.bodyLogMaxBytes, MIN_BUFFER_BYTES);
    this.idempotent = IDEMPOTENT.has(pr.method);
  }

  async run(): Promise<void> {
    const { budget } = this.deps;
    budget.requestStarted();
    try {
      for (;;) {
        // nextKey() and handle() settle synchronously in the common case; awaiting only real waits saves ticks per request.
        let key = this.nextKey();
        if (key instanceof Promise) {
          key = await key;
          // Picked before an await: requests woken together may have spent it since (the charge is taken only in send()).
          if (key !== null && !(key.status === 'ACTIVE' && hasQuota(key))) continue;
        }
        if (key === null) return this.giveUp();
        let scripted: ScriptHeaders | null = null;
        // Truthy rather than !== null: runtimes built by hand (tests, benchmarks) may leave it out.
        if (this.pr.upstream!.script) {
          scripted = this.runScript(key);
          if (scripted === null) return;
        }
        const attempt = this.send(key, scripted);
        const end = await attempt.ended;
        this.afterAttempt(attempt, end);
        let again = this.handle(attempt, end);
        if (again instanceof Promise) again = await again;
        if (!again) return;
      }
    } finally {
      if (this.retryForNext) budget.releaseRetry();
      if (this.retryForCurrent) budget.releaseRetry();
      budget.requestFinished();
    }
  }

  private nextKey(): ApiKeyState | null | Promise<ApiKeyState | null> {
    const pr = this.pr;
    const upstream = pr.upstream!;
    if (pr.clientGone) return null;
    if (pr.attempts === 0) return acquireKey(pr, upstream, this.deadlineAt, this.deps.quotaResetAt, this.deps.quota.leases);
    // Each retry goes to a key not tried yet (the set exists only for requests that retry).
    (this.exclude ??= new Set()).add(pr.key!.id);
    const key = upstream.pool.pick(this.exclude, pr.model, Date.now());
    // A connect failure is the host's, not the key's: with no fresh key left, a tried one may go again.
    if (key === null && this.lastFailure?.kind === 'connect') return upstream.pool.pick(null, pr.model, Date.now());
    return key;
  }

  /** The header script's headers for an attempt with this key; null when it failed (the client has its 500). */
  private runScript(key: ApiKeyState): ScriptHeaders | null {
    const pr = this.pr;
    this.scriptBase ??= scriptRequestBase({
      method: pr.method,
      upstreamPath: this.upstreamPath,
      rawHeaders: this.rawHeaders,
      body: this.payload === null || Buffer.isBuffer(this.payload) ? this.payload : 'stream',
      model: pr.model,
      upstream: pr.upstream!.config.name,
    });
    return applyHeaderScript(pr, pr.upstream!.script!, this.scriptBase, key);
  }

  /** Starts an attempt with this key; it settles through `attempt.ended`. */
  private send(key: ApiKeyState, scriptHeaders: ScriptHeaders | null = null): Attempt {
    const { deps, pr } = this;
    const config = pr.upstream!.config;
    deps.quota.reserve(key);
    deps.state.limits.keySent(key);
    pr.attempts++;
    pr.key = key;
    pr.secrets.push(key.secret);
    this.retryForCurrent = this.retryForNext;
    this.retryForNext = false;
    const attempt = new Attempt(key, pr.res, this, this.bufferCap, this.bufferCap);
    pr.current = attempt;
    try {
      const headers = buildUpstreamHeaders(this.rawHeaders, {
        clientIp: pr.clientIp ?? '',
        proto: 'http',
        stripNames: CLIENT_CREDENTIAL_HEADERS,
        staticHeaders: config.headers,
        auth: { type: config.authType, name: config.authName, secret: key.secret, cacheKey: key },
        contentLength: this.contentLength,
        scriptHeaders,
      });
      const path = config.authType === 'QUERY' ? appendQueryParam(this.upstreamPath, config.authName ?? 'key', key.secret) : this.upstreamPath;
      const remaining = Math.max(1, Math.floor(this.deadlineAt - attempt.dispatchedAt));
      pr.target!.pool.dispatch(
        { path, method: pr.method as 'GET', headers, body: this.payload, headersTimeout: Math.min(config.timeoutMs, remaining), bodyTimeout: config.bodyTimeoutMs },
        attempt,
      );
    } catch (error) {
      attempt.onResponseError(undefined, error as Error);
    }
    return attempt;
  }

  private afterAttempt(attempt: Attempt, end: AttemptEnd): void {
    const { deps, pr } = this;
    pr.current = null;
    deps.state.limits.keyDone(attempt.key);
    if (this.retryForCurrent) {
      deps.budget.releaseRetry();
      this.retryForCurrent = false;
    }
    deps.metrics?.keyAttempt(attempt.key, faultOfKey(attempt, end));
    pr.waitMs += (attempt.headersAt > 0 && end.kind === 'streamed' ? attempt.headersAt : attempt.endedAt || performance.now()) - attempt.dispatchedAt;
    this.settleQuota(attempt, end);
  }

  private settleQuota(attempt: Attempt, end: AttemptEnd): void {
    const failure = end.kind === 'failed' ? classifyFailure(end.error, attempt.started) : null;
    if (!attempt.started || failure?.kind === 'connect') return this.deps.quota.refund(attempt.key);
    const s = attempt.status;
    const keyFault = s === 401 || s === 403 || s === 429 || s >= 500 ? `HTTP ${s}` : null;
    this.deps.quota.settle(attempt.key, Date.now(), keyFault, this.pr.requestId);
  }

  /** Acts on an attempt's end; true when another attempt follows. */
  private handle(attempt: Attempt, end: AttemptEnd): boolean | Promise<boolean> {
    if (end.kind === 'streamed') {
      finishStream(this.deps, this.pr, attempt, end.error);
      return false;
    }
    return this.handleUnfinished(attempt, end);
  }

  private async handleUnfinished(attempt: Attempt, end: Exclude<AttemptEnd, { kind: 'streamed' }>): Promise<boolean> {
    const pr = this.pr;
    switch (end.kind) {
      case 'abandoned':
        this.lastResponse = null;
        this.lastFailure = null;
        if (await this.backoff(attempt)) return this.retrying(this.statusReason(attempt));
        this.giveUp();
        return false;
      case 'buffered': {
        const outcome = observeRules(this.deps, pr, attempt, attempt.body(), 'all');
        const retryable = this.pr.target!.retryOn.has(attempt.status) || outcome.keyTakenOut;
        this.lastResponse = attempt;
        this.lastFailure = null;
        if (retryable && this.reserveRetry() && (await this.backoff(attempt))) return this.retrying(this.statusReason(attempt));
        answerWithResponse(this.pr, attempt, this.deps.redactor);
        return false;
      }
      case 'failed': {
        const failure = classifyFailure(end.error, attempt.started);
        if (failure.kind === 'client_closed' || pr.clientGone) return false;
        const retryable = failure.kind === 'connect' || (this.idempotent && (failure.kind === 'headers_timeout' || failure.kind === 'protocol'));
        this.lastResponse = null;
        this.lastFailure = failure;
        pr.error = failure.detail;
        if (retryable && this.reserveRetry() && (await this.backoff(attempt))) return this.retrying(retryReasonOf(failure));
        answerWithFailure(this.pr, failure);
        return false;
      }
    }
  }

  /** Counts the retry about to start by its reason (the metrics' retries-by-reason series). */
  private retrying(reason: string): true {
    this.deps.metrics?.retry(this.pr.upstream!.config.name, reason);
    return true;
  }

  private statusReason(attempt: Attempt): string {
    return this.pr.target!.retryOn.has(attempt.status) ? `status_${attempt.status}` : 'rule';
  }

  /** Takes a retry slot if the request may still retry; the slot is held until that retry's attempt ends. */
  private reserveRetry(): boolean {
    if (this.retryForNext) return true;
    const pr = this.pr;
    if (pr.clientGone || pr.attempts >= this.maxAttempts || performance.now() >= this.deadlineAt) return false;
    if (!this.deps.budget.tryAcquireRetry()) return false;
    this.retryForNext = true;
    return true;
  }

  /** Waits before the next attempt; false when the deadline leaves no room or the client left. */
  private async backoff(attempt: Attempt): Promise<boolean> {
    const pr = this.pr;
    const config = pr.upstream!.config;
    const retryAfter = attempt.status > 0 ? parseRetryAfter(attempt.headers['retry-after']) : null;
    const remaining = this.deadlineAt - performance.now();
    const delay = retryDelay(pr.attempts, config.retryBaseMs, config.retryMaxMs, retryAfter, config.retryMaxMs, remaining, this.deps.random);
    if (delay === null || pr.clientGone) return false;
    if (delay > 0) await pr.sleep(delay);
    return !pr.clientGone;
  }

  /** No key for another attempt: answer with what the last one got. */
  private giveUp(): void {
    if (this.pr.clientGone) return;
    if (this.lastResponse !== null) return answerWithResponse(this.pr, this.lastResponse, this.deps.redactor);
    if (this.lastFailure !== null) return answerWithFailure(this.pr, this.lastFailure);
    if (this.pr.attempts > 0) {
      // The last response was dropped for a retry that found no key.
      this.pr.outcome = 'upstream_error';
      return sendError(this.pr, 'UPSTREAM_ERROR', 'the upstream refused every key that could be tried');
    }
  }

  // AttemptHooks: called synchronously from undici's callbacks.

  decide(attempt: Attempt): 'stream' | 'buffer' | 'abandon' {
    const status = attempt.status;
    if (this.pr.upstream!.config.respectProviderLimits) this.deps.state.limits.observeProvider(attempt.key, status, attempt.headers, Date.now());
    if (status >= 400 || this.pr.target!.retryOn.has(status)) return 'buffer';
    const outcome = observeRules(this.deps, this.pr, attempt, null, 'headers');
    if (outcome.keyTakenOut && this.anotherKeyLikely(attempt) && this.reserveRetry()) return 'abandon';
    return 'stream';
  }

  overflow(attempt: Attempt): 'stream' | 'abandon' {
    const outcome = observeRules(this.deps, this.pr, attempt, null, 'headers');
    const retryable = this.pr.target!.retryOn.has(attempt.status) || outcome.keyTakenOut;
    return retryable && this.anotherKeyLikely(attempt) && this.reserveRetry() ? 'abandon' : 'stream';
  }

  commit(attempt: Attempt): void {
    const pr = this.pr;
    pr.overheadMs = Math.max(0, performance.now() - pr.t0 - pr.waitMs - (attempt.headersAt - attempt.dispatchedAt));
    commitHead(pr, attempt, this.deps.redactor);
  }

  // Dropping a response only pays if some key is left to try: the keys tried
  // so far, and the current one unless a rule just took it out, do not count.
  private anotherKeyLikely(attempt: Attempt): boolean {
    const current = attempt.key.status === 'ACTIVE' ? 1 : 0;
    return this.pr.upstream!.pool.usableCount > (this.exclude?.size ?? 0) + current;
  }
}
