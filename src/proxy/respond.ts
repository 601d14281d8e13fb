// Everything the proxy writes to the client, in one place: keyrelay's JSON
// error shape, the head of a streamed response, a buffered upstream response
// (secrets scrubbed from error bodies), and the end of a stream that broke.

import type { ServerResponse } from 'node:http';
import { ERROR_CODES, errorBody, type ErrorCode } from '../error-codes.ts';
import { decodeBody } from '../inspect/decode-body.ts';
import type { Redactor } from '../logs/redact.ts';
import type { Attempt } from './attempt.ts';
import { filterResponseHeaders, type ResponseHeaders } from '../upstream-http/headers.ts';
import { redactResponseHeaders } from './redact-headers.ts';
import type { ProxyRequest } from './proxy-request.ts';

/** Error bodies larger than this are passed on unscrubbed only if they cannot hold text (see sendBuffered). */
const SCRUB_MAX_BYTES = 1024 * 1024;

/** keyrelay's JSON error (error-codes.ts), with the code's status. */
export function sendError(pr: ProxyRequest, code: ErrorCode, message: string, extra: Record<string, string> | null = null, details: object | null = null): void {
  const res = pr.res;
  const status = ERROR_CODES[code].status;
  pr.status = status;
  if (res.headersSent) {
    // Too late for a status: the only honest signal left is a broken connection.
    res.destroy();
    return;
  }
  const body = errorBody(code, message, pr.requestId, details);
  pr.responseText = body;
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  pr.addOwnHeaders(headers);
  if (extra !== null) Object.assign(headers, extra);
  res.writeHead(status, headers);
  res.end(body);
  pr.bytesOut = Buffer.byteLength(body);
}

function withOwnHeaders(pr: ProxyRequest, headers: ResponseHeaders): ResponseHeaders {
  pr.addOwnHeaders(headers);
  return headers;
}

/** The head of a response that streams: SSE and unsized bodies are flushed at once (time to first byte). */
export function commitHead(pr: ProxyRequest, attempt: Attempt, redactor: Redactor): void {
  const headers = filterResponseHeaders(attempt.headers);
  redactResponseHeaders(headers, attempt.status, pr.secrets, redactor);
  const sse = attempt.isEventStream;
  // An event stream may end with keyrelay's own error event, so it is never sized.
  if (sse) delete headers['content-length'];
  pr.status = attempt.status;
  pr.stream = sse;
  pr.res.writeHead(attempt.status, withOwnHeaders(pr, headers));
  if (sse || headers['content-length'] === undefined) pr.res.flushHeaders();
}

/**
 * A whole upstream response. Error bodies are scrubbed of the pool keys and
 * the client's token first (an upstream 401 often echoes the key it got);
 * a compressed one is inflated for that and sent uncompressed.
 */
export function sendBuffered(pr: ProxyRequest, attempt: Attempt, body: Buffer, secrets: readonly string[], redactor: Redactor): void {
  const headers = filterResponseHeaders(attempt.headers);
  redactResponseHeaders(headers, attempt.status, secrets, redactor);
  let out = body;
  if (attempt.status >= 400 && body.length > 0 && body.length <= SCRUB_MAX_BYTES) {
    const decoded = decodeBody(body, headers['content-encoding'], SCRUB_MAX_BYTES * 8);
    if (decoded !== null && !decoded.truncated) {
      const clean = redactor.redact(decoded.text, secrets);
      if (clean !== decoded.text || headers['content-encoding'] !== undefined) {
        out = Buffer.from(clean, 'utf8');
        delete headers['content-encoding'];
      }
    } else if (headers['content-encoding'] !== undefined) {
      // Cannot be checked for an echoed key: the client gets keyrelay's error instead.
      return sendError(pr, 'UPSTREAM_ERROR', `the upstream answered ${attempt.status}`, null, { upstream_status: attempt.status });
    }
  }
  pr.status = attempt.status;
  pr.bytesOut = pr.method === 'HEAD' ? 0 : out.length;
  if (pr.method !== 'HEAD') headers['content-length'] = String(out.length);
  pr.res.writeHead(attempt.status, withOwnHeaders(pr, headers));
  pr.res.end(pr.method === 'HEAD' ? undefined : out);
}

/**
 * A streamed response broke off. An event stream gets a final `error` event
 * (never a fake [DONE]) so clients can tell it from a normal end; any other
 * body is cut by closing the connection, which clients see as an error.
 */
export function endInterrupted(res: ServerResponse, sse: boolean, code: string, message: string): void {
  if (res.destroyed || res.writableEnded) return;
  if (!sse) {
    res.destroy();
    return;
  }
  res.end(`event: error\ndata: ${JSON.stringify({ error: { message, type: 'keyrelay_error', code } })}\n\n`);
}
