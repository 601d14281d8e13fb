// Everything the proxy learns about one client request, in one object with a
// fixed shape (allocated once per request), from which the single log row,
// the metrics and the usage counts are made when it ends.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { LogOutcome } from '../logs/log-entry.ts';
import type { Logger } from '../logger.ts';
import type { UpstreamRuntime } from '../state/gateway-state.ts';
import type { AccessTokenState, ApiKeyState, TokenUsage } from '../state/types.ts';
import type { Attempt } from './attempt.ts';
import { ProxyAbort } from './proxy-errors.ts';
import type { RequestBody } from './request-body.ts';
import type { LimitCounter } from '../ratelimit/limit-counter.ts';
import type { UpstreamTarget } from './upstream-targets.ts';

const SANE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * A UUIDv7 (RFC 9562): the millisecond clock first, then a counter (method 1,
 * "fixed-length dedicated counter bits") and a random per-process node part.
 * Time order keeps the request log's requestId index append-mostly (a random
 * v4 id there made each stored row cost twice as much, measured on SQLite);
 * the counter makes an id one string concatenation instead of a call for
 * random bytes. Unique per process (the counter), across processes by the
 * 48 random bits; request ids are not secrets, so predictability is fine.
 */
let prefixAt = -1;
let prefix = '';
let counter = 0;
const NODE_PART = '-' + randomBytes(6).toString('hex');
/** '000' .. 'fff': twelve counter bits as text without formatting a number per id. */
const HEX3 = Array.from({ length: 4096 }, (_, i) => i.toString(16).padStart(3, '0'));
const HEX3_VARIANT = HEX3.map((h) => '-8' + h);

export function timeOrderedId(now: number = Date.now()): string {
  if (now !== prefixAt) {
    const ts = now.toString(16).padStart(12, '0');
    prefix = ts.slice(0, 8) + '-' + ts.slice(8) + '-7';
    prefixAt = now;
  }
  // 24 counter bits: three hex digits after the version, three after the variant (8: RFC 9562's 10xx).
  const c = counter;
  counter = (counter + 1) & 0xffffff;
  return prefix + HEX3[c >>> 12] + HEX3_VARIANT[c & 0xfff] + NODE_PART;
}

function requestIdOf(req: IncomingMessage, now: number): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : timeOrderedId(now);
}

export class ProxyRequest {
  readonly t0 = performance.now();
  readonly startedAt = Date.now();
  readonly requestId: string;
  readonly method: string;
  /** The client's path and query under the upstream, for the log (redacted when stored). */
  path = '';
  clientIp: string | null;
  upstream: UpstreamRuntime | null = null;
  target: UpstreamTarget | null = null;
  token: AccessTokenState | null = null;
  /** The client's credential as sent: scrubbed from the log row. */
  presented: string | null = null;
  body: RequestBody = { kind: 'none' };
  /** Counted by the body reader. */
  bytesIn = 0;
  bytesOut = 0;
  model: string | null = null;
  attempts = 0;
  /** The key of the last attempt. */
  key: ApiKeyState | null = null;
  /** Time spent waiting on upstreams and backoff: excluded from the overhead. */
  waitMs = 0;
  overheadMs = -1;
  status = 0;
  outcome: LogOutcome = 'ok';
  error: string | null = null;
  stream = false;
  usage: TokenUsage | null = null;
  matched: string[] | null = null;
  /** keyrelay's own response body (an error), for the log. */
  responseText: string | null = null;
  /** The upstream's response body as captured (bounded), decoded for the log only when it is logged. */
  responseRaw: Buffer | null = null;
  responseRawTruncated = false;
  responseEncoding: string | string[] | undefined = undefined;
  responseType: string | string[] | undefined = undefined;
  /** Pool keys used so far and the client's credential: scrubbed from everything logged. */
  secrets: string[] = [];
  clientGone = false;
  /** The attempt in flight, aborted if the client goes away. */
  current: Attempt | null = null;
  /** Ends a backoff wait early when the client goes away. */
  wake: (() => void) | null = null;
  /** Client rate limits this request holds a slot of (released when it ends). */
  limitsHeld: readonly LimitCounter[] | null = null;
  /** X-RateLimit-* of the tightest client limit, sent on every response. */
  rateHeaders: Record<string, string> | null = null;
  private logger: Logger | null = null;

  constructor(req: IncomingMessage, readonly res: ServerResponse, private readonly baseLog: Logger, trustProxy: boolean) {
    this.requestId = requestIdOf(req, this.startedAt);
    this.method = req.method ?? 'GET';
    this.clientIp = clientIpOf(req, trustProxy);
  }

  /** A child logger carrying the request id, made only when something is logged. */
  get log(): Logger {
    return (this.logger ??= this.baseLog.child({ requestId: this.requestId }));
  }

  /** Overhead so far: wall time minus the waits on upstreams. */
  measureOverhead(): number {
    this.overheadMs = Math.max(0, performance.now() - this.t0 - this.waitMs);
    return this.overheadMs;
  }

  addMatched(ids: readonly string[]): void {
    if (ids.length === 0) return;
    if (this.matched === null) this.matched = [];
    for (const id of ids) if (!this.matched.includes(id)) this.matched.push(id);
  }

  /** Called from the response's `close`: the client left before the response was complete. */
  clientClosed(): void {
    if (this.clientGone) return;
    this.clientGone = true;
    this.current?.cancel(new ProxyAbort('client_closed', 'client closed the connection'));
    this.wake?.();
  }

  /** Waits (backoff, a key to return), ended early if the client leaves; counted as waiting, not overhead. */
  async sleep(ms: number): Promise<void> {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = null;
    this.waitMs += performance.now() - started;
  }

  /** Adds the headers keyrelay puts on every response. */
  addOwnHeaders(headers: Record<string, string | number | string[]>): void {
    headers['x-request-id'] = this.requestId;
    headers['x-keyrelay-attempts'] = String(this.attempts);
    headers['x-keyrelay-overhead-ms'] = (this.overheadMs >= 0 ? this.overheadMs : this.measureOverhead()).toFixed(3);
    if (this.rateHeaders !== null) Object.assign(headers, this.rateHeaders);
  }
}

function clientIpOf(req: IncomingMessage, trustProxy: boolean): string | null {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const first = typeof forwarded === 'string' ? forwarded.split(',')[0].trim() : '';
    if (first.length > 0 && first.length <= 64) return first;
  }
  return req.socket.remoteAddress ?? null;
}
