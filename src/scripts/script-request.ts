// The `request` a header script receives, serialised to one JSON string. The
// parts that stay the same across a request's attempts (method, path, query,
// headers, body hash, model, upstream) are serialised once per request; each
// attempt appends the key's name and fingerprint, the attempt number and the
// clock.

import { createHash } from 'node:crypto';
import { HOP_BY_HOP } from '../proxy/headers.ts';
import type { ApiKeyState } from '../state/types.ts';

/** Client credentials and cookies never reach a script (the pool key does only with scriptCanReadKey). */
const HIDDEN: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'authorization', 'x-api-key', 'x-goog-api-key', 'cookie']);
/** The query parameter clients may send their gateway token in. */
const CREDENTIAL_PARAM = 'key';
const EMPTY_SHA256 = createHash('sha256').digest('hex');

export interface ScriptRequestParts {
  method: string;
  /** The path and query as sent upstream (base path included). */
  upstreamPath: string;
  /** node:http's flat raw headers. */
  rawHeaders: readonly string[];
  /** The buffered body; null for none, 'stream' for a streamed body (not hashed). */
  body: Buffer | 'stream' | null;
  model: string | null;
  upstream: string;
}

/** The fixed part, as a JSON object without its closing brace. */
export function scriptRequestBase(parts: ScriptRequestParts): string {
  const queryAt = parts.upstreamPath.indexOf('?');
  const path = queryAt === -1 ? parts.upstreamPath : parts.upstreamPath.slice(0, queryAt);
  const query: Record<string, string | string[]> = {};
  if (queryAt !== -1) {
    for (const [name, value] of new URLSearchParams(parts.upstreamPath.slice(queryAt + 1))) {
      if (name === CREDENTIAL_PARAM) continue;
      const prev = query[name];
      query[name] = prev === undefined ? value : ([] as string[]).concat(prev, value);
    }
  }
  const headers: Record<string, string> = {};
  const raw = parts.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (HIDDEN.has(lower)) continue;
    headers[lower] = headers[lower] === undefined ? raw[i + 1] : `${headers[lower]}, ${raw[i + 1]}`;
  }
  const body = parts.body;
  const bodySha256 = body === 'stream' ? '' : body === null || body.length === 0 ? EMPTY_SHA256 : createHash('sha256').update(body).digest('hex');
  const json = JSON.stringify({ method: parts.method, path, query, headers, bodySha256, model: parts.model, upstream: parts.upstream });
  return json.slice(0, -1);
}

/** The whole request for one attempt. */
export function scriptRequestJson(base: string, key: ApiKeyState, attempt: number, now: number, canReadKey: boolean): string {
  let json = `${base},"keyName":${JSON.stringify(key.name)},"keyFingerprint":${JSON.stringify(key.fingerprint)},"attempt":${attempt},"now":${now}`;
  if (canReadKey) json += `,"key":${JSON.stringify(key.secret)}`;
  return json + '}';
}
