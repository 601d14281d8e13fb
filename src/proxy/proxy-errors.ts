// The one place that maps what went wrong on an attempt (undici and socket
// error codes, our own aborts) to what the proxy does about it: the client
// status, whether another attempt may follow, and whether the upstream saw
// the request at all. Client-facing messages never name the upstream's host
// or address.

import type { ErrorCode } from '../error-codes.ts';

export type FailureKind =
  /** No connection: refused, unresolvable, unreachable, connect timeout. The upstream never saw the request. */
  | 'connect'
  | 'headers_timeout'
  | 'body_timeout'
  /** The connection broke or the upstream spoke garbage after the request went out. */
  | 'protocol'
  | 'client_closed'
  /** The client's request body failed (too large while streaming, or the client broke it off). */
  | 'request_body'
  /** A stored key or header is unusable on the wire (fails closed). */
  | 'config'
  /** The upstream's header script failed (src/scripts/); never retried, never the key's fault. */
  | 'header_script';

export interface Failure {
  kind: FailureKind;
  /** Stable code for logs: an undici/system code or our own. */
  code: string;
  /** For operational logs and the log row (redacted there); never sent to the client. */
  detail: string;
}

/** Thrown into an attempt by the proxy itself (client gone, body over the limit). */
export class ProxyAbort extends Error {
  constructor(readonly kind: 'client_closed' | 'request_body', message: string) {
    super(message);
    this.name = 'ProxyAbort';
  }
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

/**
 * `started`: undici began writing the request on a socket. Before that any
 * error means the upstream cannot have seen the request.
 */
export function classifyFailure(error: unknown, started: boolean): Failure {
  const code = errorCode(error);
  const detail = error instanceof Error ? `${code}: ${error.message}` : code;
  if (error instanceof ProxyAbort) return { kind: error.kind, code: error.kind.toUpperCase(), detail: error.message };
  if (code === 'UNSAFE_HEADER' || code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') return { kind: 'config', code, detail };
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return { kind: 'headers_timeout', code, detail };
  if (code === 'UND_ERR_BODY_TIMEOUT') return { kind: 'body_timeout', code, detail };
  if (!started || CONNECT_CODES.has(code)) return { kind: 'connect', code, detail };
  return { kind: 'protocol', code, detail };
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.length > 0) return code;
  return error instanceof Error ? error.name : 'UNKNOWN';
}

export interface ClientError {
  status: number;
  code: ErrorCode;
  message: string;
}

/** A client over its rate limit, or every key at its own: 429 with Retry-After. */
export function rateLimitedError(message: string): ClientError {
  return { status: 429, code: 'RATE_LIMITED', message };
}

/** What the client is told when no upstream response can be passed on. */
export function clientErrorFor(kind: FailureKind, attempts: number): ClientError {
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  switch (kind) {
    case 'connect':
      return { status: 502, code: 'UPSTREAM_UNREACHABLE', message: `could not connect to the upstream${tries}` };
    case 'headers_timeout':
      return { status: 504, code: 'UPSTREAM_TIMEOUT', message: `the upstream did not answer in time${tries}` };
    case 'body_timeout':
      return { status: 504, code: 'UPSTREAM_TIMEOUT', message: 'the upstream stopped sending its response' };
    case 'protocol':
      return { status: 502, code: 'UPSTREAM_FAILED', message: `the upstream connection failed${tries}` };
    case 'request_body':
      return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'request body too large' };
    case 'config':
      return { status: 502, code: 'UPSTREAM_CONFIG', message: 'the upstream key or headers are not usable; ask the administrator' };
    case 'client_closed':
      return { status: 499, code: 'CLIENT_CLOSED', message: 'client closed the request' };
    case 'header_script':
      return { status: 500, code: 'HEADER_SCRIPT_FAILED', message: 'the header script failed' };
  }
}
