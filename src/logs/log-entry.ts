// One client request as the proxy hands it to the log writer. Redaction is
// deferred to the writer's flush (off the response path): the entry carries
// the secrets to scrub, and those never leave the writer.

import type { RequestLogged } from '../events/bus.ts';
import type { TokenUsage } from '../state/types.ts';
import type { Redactor } from './redact.ts';

/** The request-log outcome values the proxy writes. */
export type LogOutcome =
  | 'ok'
  /** The upstream answered with an error status that the client received (or 502 after retries). */
  | 'upstream_error'
  /** No upstream response at all: connection refused or reset, garbage on the wire. */
  | 'upstream_unreachable'
  | 'timeout'
  | 'stream_interrupted'
  | 'client_closed'
  | 'no_key'
  /** Refused by a rate limit (client or every key), before any upstream was contacted. */
  | 'rate_limited'
  /** The upstream's header script failed; no upstream was contacted on that attempt. */
  | 'script_failed'
  /** Refused before any upstream was contacted: 400, 401, 403, 404, 413. */
  | 'rejected';

/**
 * A request-log row as queued: the stored row's columns (bus.ts) before the
 * writer assigns its id, with usage as one object, and the secrets to scrub.
 * `path`, `error`, `model` and the bodies are not redacted yet.
 */
export type LogEntry = Omit<RequestLogged, 'id' | 'outcome' | 'promptTokens' | 'completionTokens' | 'totalTokens'> & {
  outcome: LogOutcome;
  usage: TokenUsage | null;
  /** Pool keys used and the client's token: scrubbed from path, error and bodies. Never stored. */
  secrets: string[];
};

const MAX_PATH_CHARS = 2048;
const MAX_ERROR_CHARS = 1000;

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

/**
 * PostgreSQL text cannot hold a NUL (the whole INSERT fails), so a logged NUL
 * is written visibly as the six characters `\u0000`, on both databases so they
 * read the same. Other control characters are stored as they came.
 */
export function escapeNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text;
}

/**
 * The row to store, every free-text column redacted; `id` is 0 until the
 * writer learns it, and the same object is then published.
 */
export function toStoredRow(e: LogEntry, redactor: Redactor): RequestLogged {
  const scrub = (text: string | null) => (text === null ? null : escapeNul(redactor.redact(text, e.secrets)));
  return {
    id: 0,
    createdAt: e.createdAt,
    requestId: e.requestId,
    upstreamId: e.upstreamId,
    keyId: e.keyId,
    accessTokenId: e.accessTokenId,
    method: e.method,
    path: clip(escapeNul(redactor.redact(redactor.redactUrl(e.path), e.secrets)), MAX_PATH_CHARS),
    status: e.status,
    outcome: e.outcome,
    latencyMs: Math.round(e.latencyMs),
    overheadMs: Math.round(e.overheadMs * 1000) / 1000,
    attempts: e.attempts,
    bytesIn: e.bytesIn,
    bytesOut: e.bytesOut,
    clientIp: e.clientIp === null ? null : escapeNul(e.clientIp),
    error: e.error === null ? null : clip(scrub(e.error) ?? '', MAX_ERROR_CHARS),
    model: e.model === null ? null : clip(scrub(e.model) ?? '', 200),
    stream: e.stream,
    promptTokens: e.usage?.promptTokens ?? null,
    completionTokens: e.usage?.completionTokens ?? null,
    totalTokens: e.usage?.totalTokens ?? null,
    matchedRules: e.matchedRules,
    requestBody: scrub(e.requestBody),
    responseBody: scrub(e.responseBody),
    bodyTruncated: e.bodyTruncated,
  };
}
