// The end of every client request, whatever happened: exactly one log row
// (queued, never awaited), the metrics, token usage on the key, and the
// access token's last use. Bodies are decoded only when they are logged or
// may carry usage.

import { performance } from 'node:perf_hooks';
import { completeUtf8Length } from '../inspect/body-capture.ts';
import { decodeBody } from '../inspect/decode-body.ts';
import { usageFromJsonBuffer } from '../inspect/json-scan.ts';
import { usageFromJsonText } from '../inspect/usage.ts';
import type { ProxyDeps } from './proxy-deps.ts';
import type { ProxyRequest } from './proxy-request.ts';

function isJson(type: string | string[] | undefined): boolean {
  return typeof type === 'string' && type.includes('json');
}

function clippedText(body: Buffer, max: number): { text: string; truncated: boolean } {
  const truncated = body.length > max;
  const kept = truncated ? body.subarray(0, max) : body;
  return { text: kept.toString('utf8', 0, completeUtf8Length(kept)), truncated };
}

export function finishRequest(deps: ProxyDeps, pr: ProxyRequest): void {
  if (pr.clientGone) {
    pr.status = 499;
    pr.outcome = 'client_closed';
    pr.error = 'client closed the connection';
  }
  const latencyMs = performance.now() - pr.t0;
  const config = pr.upstream?.config ?? null;
  const mode = config?.bodyLogging ?? 'OFF';
  const maxBody = config?.bodyLogMaxBytes ?? 0;
  const logBodies = maxBody > 0 && (mode === 'ALL' || (mode === 'ERRORS' && (pr.status >= 400 || pr.outcome !== 'ok')));

  let responseBody: string | null = null;
  let truncated = false;
  const raw = pr.responseRaw;
  const wantUsage = raw !== null && pr.usage === null && isJson(pr.responseType) && !pr.responseRawTruncated;
  if (wantUsage && !logBodies && pr.responseEncoding === undefined) {
    // The common case: usage read straight from the bytes, nothing decoded.
    pr.usage = usageFromJsonBuffer(raw);
  } else if (raw !== null && raw.length > 0 && (logBodies || wantUsage)) {
    const decoded = decodeBody(raw, pr.responseEncoding, Math.max(maxBody, raw.length));
    if (decoded !== null) {
      if (wantUsage) pr.usage = pr.responseEncoding === undefined ? usageFromJsonBuffer(raw) : usageFromJsonText(decoded.text);
      if (logBodies) {
        const clipped = decoded.text.length > maxBody ? decoded.text.slice(0, maxBody) : decoded.text;
        responseBody = clipped;
        truncated = pr.responseRawTruncated || decoded.truncated || clipped.length < decoded.text.length;
      }
    } else if (logBodies) {
      responseBody = `[${raw.length} bytes, content-encoding ${String(pr.responseEncoding)}, not decoded]`;
    }
  } else if (logBodies && pr.responseText !== null) {
    responseBody = pr.responseText;
  }

  let requestBody: string | null = null;
  if (logBodies) {
    const body = pr.body.kind === 'buffered' ? pr.body.data : pr.body.kind === 'stream' ? pr.body.prefix : null;
    if (body !== null && body.length > 0) {
      const clipped = clippedText(body, maxBody);
      requestBody = clipped.text;
      truncated ||= clipped.truncated || pr.body.kind === 'stream';
    }
  }

  if (pr.usage !== null && pr.key !== null) deps.usage.tokensUsed(pr.key.id, pr.usage);
  if (pr.usage !== null && config !== null) deps.metrics?.tokens(config.name, pr.usage.promptTokens, pr.usage.completionTokens);
  if (pr.token !== null) deps.usage.touchToken(pr.token.id, pr.startedAt);
  deps.metrics?.request(config?.name ?? '-', pr.status, latencyMs, pr.attempts);
  if (pr.presented !== null) pr.secrets.push(pr.presented);

  deps.logs.enqueue({
    createdAt: pr.startedAt,
    requestId: pr.requestId,
    upstreamId: config?.id ?? null,
    keyId: pr.key?.id ?? null,
    accessTokenId: pr.token?.id ?? null,
    method: pr.method,
    path: pr.path,
    status: pr.status,
    outcome: pr.outcome,
    latencyMs,
    overheadMs: pr.overheadMs >= 0 ? pr.overheadMs : pr.measureOverhead(),
    attempts: pr.attempts,
    bytesIn: pr.bytesIn,
    bytesOut: pr.bytesOut,
    clientIp: pr.clientIp,
    error: pr.error,
    model: pr.model,
    stream: pr.stream,
    usage: pr.usage,
    matchedRules: pr.matched === null ? null : pr.matched.join(','),
    requestBody,
    responseBody,
    bodyTruncated: truncated,
    secrets: pr.secrets,
  });
}
