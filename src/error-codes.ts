// Every error code keyrelay answers outside GraphQL (GraphQL errors carry
// their own `extensions.code`), with its HTTP status and what it means, in the
// manner of undici's stable error codes: clients may branch on `code`; the
// message is for people and may change. The README's error table is checked
// against this list.

export const ERROR_CODES = {
  UNAUTHENTICATED: { status: 401, meaning: 'No access token, an unknown one, or a revoked or disabled one.' },
  FORBIDDEN: { status: 403, meaning: 'The access token may not use this upstream, which is open to anonymous use (on any other upstream a token that may not use it gets UNKNOWN_UPSTREAM).' },
  UNKNOWN_UPSTREAM: { status: 404, meaning: 'No enabled upstream by that name, or none this access token may use; told only after the token is checked (without a valid token every name answers UNAUTHENTICATED).' },
  BAD_PATH: { status: 400, meaning: 'The path would leave the upstream base path or is malformed.' },
  METHOD_NOT_ALLOWED: { status: 405, meaning: 'CONNECT is not proxied.' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The request body is over the limit.' },
  NO_USABLE_KEY: { status: 503, meaning: 'Every key is disabled, banned, exhausted or cooling; says why, with Retry-After when a return time is known.' },
  UPSTREAM_UNREACHABLE: { status: 502, meaning: 'No connection to the upstream (refused, unresolvable, connect timeout).' },
  UPSTREAM_TIMEOUT: { status: 504, meaning: 'The upstream sent no headers in time, or stopped sending its body.' },
  UPSTREAM_FAILED: { status: 502, meaning: 'The connection broke or the upstream answered garbage after the request went out.' },
  UPSTREAM_CONFIG: { status: 502, meaning: 'A stored key or header cannot be sent on the wire; an administrator must fix it.' },
  UPSTREAM_ERROR: { status: 502, meaning: 'The upstream answered 5xx (or refused every key) on every attempt.' },
  RATE_LIMITED: { status: 429, meaning: 'A rate limit on the access token, the upstream or every key refused the request; names the limit, with Retry-After and X-RateLimit-* headers.' },
  HEADER_SCRIPT_FAILED: { status: 500, meaning: "The upstream's header script failed (threw, timed out, ran out of memory or returned bad headers); not retried, not counted against the key." },
  GATEWAY_SHUTTING_DOWN: { status: 503, meaning: 'keyrelay is draining for shutdown: a new request on a kept-alive connection is refused, and a stream still open at the drain deadline ends with this SSE error event.' },
  CLIENT_CLOSED: { status: 499, meaning: 'The client went away first (logged only; nothing reaches the client).' },
  NOT_FOUND: { status: 404, meaning: 'No such route.' },
  BAD_REQUEST: { status: 400, meaning: 'The server refused the request before routing it (a malformed request).' },
  INTERNAL: { status: 500, meaning: 'An unexpected failure inside keyrelay (logged with the request id).' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * keyrelay's one JSON error shape, shaped like OpenAI's so SDKs surface the
 * message: `{ error: { message, type: 'keyrelay_error', code, request_id?, ...details } }`.
 */
export function errorBody(code: ErrorCode, message: string, requestId: string | null = null, details: object | null = null): string {
  return JSON.stringify({ error: { message, type: 'keyrelay_error', code, ...(requestId === null ? {} : { request_id: requestId }), ...details } });
}
