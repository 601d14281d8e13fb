import { isDatabaseUnreachable } from '../db/unreachable.ts';
import { DomainError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** Codes that mean the client sent something wrong: nothing for an operator to act on. */
const CLIENT_CODES = new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT', 'UNAUTHENTICATED', 'FORBIDDEN', 'BAD_REQUEST', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED']);

type Located = { extensions?: { code?: unknown; http?: { status?: unknown } }; originalError?: unknown };

/** The client's fault: a domain error, a client error code, or a 4xx, on the error or what it wraps. */
export function isClientError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    if (current instanceof DomainError) return true;
    const { extensions, originalError } = current as Located;
    if (typeof extensions?.code === 'string' && CLIENT_CODES.has(extensions.code)) return true;
    const status = extensions?.http?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) return true;
    current = originalError;
  }
  return false;
}

function codeOf(error: Error): string | undefined {
  const own = error instanceof DomainError ? error.code : (error as Located).extensions?.code;
  if (typeof own === 'string') return own;
  const inner = (error as Located).originalError;
  return inner instanceof DomainError ? inner.code : undefined;
}

/**
 * Yoga's error log: a client's bad input goes to `info` as one line without a
 * stack (the client got the message already); `error` stays for what an
 * operator must act on.
 */
export function logGraphQLError(log: Logger, args: unknown[]): void {
  const error = args.find((a): a is Error => a instanceof Error);
  const detail = args.filter((a) => !(a instanceof Error)).map(String);
  if (error && isClientError(error)) {
    log.info({ code: codeOf(error), message: error.message, ...(detail.length ? { detail } : {}) }, 'graphql request refused');
    return;
  }
  // The outage itself is logged by the parts that store (once per interval); one line per refused call is enough here.
  if (error && isDatabaseUnreachable((error as Located).originalError ?? error)) {
    log.warn({ code: 'SERVICE_UNAVAILABLE', cause: error.message }, 'graphql request refused: the database is unreachable');
    return;
  }
  log.error({ err: error, detail }, 'graphql error');
}
