// ANY /proxy/{upstream}/{path}: the hot path, as a Node-style handler (raw
// req/res under h3, mounted by nodeRoute). Everything it reads comes from the
// in-memory state; everything it records (log row, usage, metrics) is queued
// when the response is over. Order: client token (then the upstream) -> path ->
// body -> model -> attempts (forward.ts).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../error-codes.ts';
import { withStreamUsage } from '../inspect/usage.ts';
import { admitClient, clientRequestEnded } from '../ratelimit/admission.ts';
import { createAuthenticator, UNKNOWN_UPSTREAM_MESSAGE, type Authenticate } from './client-auth.ts';
import { finishRequest } from './finish.ts';
import { Forwarder, type Payload } from './forward.ts';
import type { ProxyDeps } from './proxy-deps.ts';
import { ProxyAbort } from './proxy-errors.ts';
import { ProxyRequest } from './proxy-request.ts';
import { readRequestBody, type BodyResult } from './request-body.ts';
import { readModel } from './request-model.ts';
import { sendError } from './respond.ts';
import { BadPathError, buildUpstreamPath } from '../upstream-http/target-url.ts';
import { InFlight } from './shutdown.ts';

export type { ProxyDeps } from './proxy-deps.ts';

const PREFIX_LENGTH = '/proxy/'.length;

export function createProxyHandler(deps: ProxyDeps) {
  const authenticate = createAuthenticator(deps.state);
  const inFlight = new InFlight();
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const pr = new ProxyRequest(req, res, deps.log, deps.trustProxy);
    inFlight.add(pr);
    // (A closure, not a property on res: a new property on that large object copies its property store.)
    res.on('close', () => {
      if (!res.writableFinished) pr.clientClosed();
    });
    try {
      // One async frame for the whole request: the checks are synchronous, and
      // only the body (rarely) and the attempts wait.
      let upstreamPath = admit(deps, authenticate, pr, req);
      // Cluster mode's shared rate limits answer after one Redis round trip.
      if (upstreamPath instanceof Promise) upstreamPath = await upstreamPath;
      if (upstreamPath !== null) {
        let body = readRequestBody(req, pr.upstream!.config.maxBufferedBodyBytes, deps.maxRequestBodyBytes, pr);
        if (body instanceof Promise) body = await body;
        const forwarder = forwarderFor(deps, pr, req, upstreamPath, body);
        if (forwarder !== null) await forwarder.run();
      }
    } catch (error) {
      if (error instanceof ProxyAbort && error.kind === 'client_closed') pr.clientClosed();
      else {
        pr.log.error({ err: error }, 'proxy request failed unexpectedly');
        pr.outcome = 'upstream_error';
        pr.error = 'internal error';
        if (!pr.clientGone) sendError(pr, 'INTERNAL', 'internal error');
      }
    } finally {
      inFlight.delete(pr);
      finishRequest(deps, pr);
      clientRequestEnded(deps.state.limits, pr);
    }
  };
  return Object.assign(handler, { inFlight });
}

function reject(pr: ProxyRequest, code: ErrorCode, message: string, extra: Record<string, string> | null = null): null {
  pr.outcome = 'rejected';
  pr.error = message;
  pr.measureOverhead();
  sendError(pr, code, message, extra);
  return null;
}

/** Upstream, client token and path: the upstream path to send to, or null when the request was refused (and answered). */
function admit(deps: ProxyDeps, authenticate: Authenticate, pr: ProxyRequest, req: IncomingMessage): string | null | Promise<string | null> {
  const url = req.url ?? '/';
  let nameEnd = PREFIX_LENGTH;
  while (nameEnd < url.length && url.charCodeAt(nameEnd) !== 0x2f && url.charCodeAt(nameEnd) !== 0x3f) nameEnd++;
  const rest = url.slice(nameEnd);
  const queryAt = rest.indexOf('?');
  const clientPath = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const search = queryAt === -1 ? '' : rest.slice(queryAt);
  pr.path = rest.length === 0 || rest.charCodeAt(0) === 0x3f ? '/' + rest : rest;

  const named = deps.state.upstreamsByName.get(url.slice(PREFIX_LENGTH, nameEnd));
  const upstream = named !== undefined && named.config.enabled ? named : null;
  // The token is judged first: whether an upstream exists is told only to a token that may use it.
  const auth = authenticate(req, search, upstream);
  pr.token = auth.token;
  pr.presented = auth.presented;
  pr.upstream = upstream;
  if (!auth.ok) return reject(pr, auth.code, auth.message);
  if (upstream === null) return reject(pr, 'UNKNOWN_UPSTREAM', UNKNOWN_UPSTREAM_MESSAGE);

  const target = deps.targets.get(upstream);
  pr.target = target;
  let upstreamPath: string;
  try {
    upstreamPath = buildUpstreamPath(target.basePath, clientPath, search, target.stripQuery);
  } catch (error) {
    if (error instanceof BadPathError) return reject(pr, 'BAD_PATH', error.message);
    throw error;
  }
  if (pr.method === 'CONNECT') return reject(pr, 'METHOD_NOT_ALLOWED', 'CONNECT is not proxied');
  const admitted = admitClient(deps.state.limits, pr);
  if (admitted instanceof Promise) return admitted.then((ok) => (ok ? upstreamPath : null));
  return admitted ? upstreamPath : null;
}

/** The attempts for a request whose body is read; null when the body was refused (and answered). */
function forwarderFor(deps: ProxyDeps, pr: ProxyRequest, req: IncomingMessage, upstreamPath: string, body: BodyResult): Forwarder | null {
  // The rest of an oversized body is never read, so the connection cannot be reused.
  if (body === 'too_large') return reject(pr, 'PAYLOAD_TOO_LARGE', 'request body too large', { connection: 'close' });
  pr.body = body;
  const config = pr.upstream!.config;
  let payload: Payload = null;
  let contentLength: number | null = null;
  if (body.kind === 'buffered') {
    let data = body.data;
    pr.model = readModel(data, req.headers['content-type'], config.modelPath);
    if (config.injectStreamUsage && data.length > 0) {
      // withStreamUsage changes only a JSON object with `stream: true` and no include_usage yet.
      const injected = withStreamUsage(data.toString('utf8'));
      if (injected !== null) data = Buffer.from(injected, 'utf8');
    }
    payload = data;
    contentLength = data.length;
  } else if (body.kind === 'stream') {
    payload = body.source;
    contentLength = body.length;
  }
  return new Forwarder(deps, pr, req.rawHeaders, upstreamPath, payload, contentLength, body.kind !== 'stream');
}
