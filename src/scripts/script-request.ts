// The `request` a header script receives, handed to the sandbox as one
// string of U+0001-separated scalars: parsing a whole request as JSON inside
// QuickJS cost more than the rest of a run. The headers and query are built
// (as JSON) and sent in only when the script reads them, through a host call
// (header-script.ts): a script that signs the method, path and body hash pays
// nothing for them. The parts that stay the same across a request's attempts
// are packed once per request; each attempt appends the key's name and
// fingerprint, the attempt number and the clock. RUNNER in header-script.ts
// unpacks the same order.

import { sha256Hex } from '../crypto/tokens.ts';
import { HOP_BY_HOP } from '../upstream-http/headers.ts';
import type { ApiKeyState } from '../state/types.ts';

/** Client credentials and cookies never reach a script (the pool key does only with scriptCanReadKey). */
const HIDDEN: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'authorization', 'x-api-key', 'x-goog-api-key', 'cookie']);
/** The query parameter clients may send their gateway token in. */
const CREDENTIAL_PARAM = 'key';
const EMPTY_SHA256 = sha256Hex('');
/** Not NUL: the string crosses into the sandbox as a C string, which a NUL would cut short. */
export const FIELD_SEPARATOR = '\u0001';
const UNSAFE_IN_FIELD = /[\u0000\u0001]/;
const UNSAFE_IN_FIELD_ALL = /[\u0000\u0001]/g;

/** Headers cannot hold U+0000 or U+0001 (node:http refuses them); a model or key name might, and would shift the fields. */
function field(value: string): string {
  return UNSAFE_IN_FIELD.test(value) ? value.replace(UNSAFE_IN_FIELD_ALL, '\uFFFD') : value;
}

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

/** What stays the same across a request's attempts: the packed scalars, and the headers and query as JSON when asked for. */
export class ScriptRequestBase {
  private headers: string | null = null;
  private query: string | null = null;

  /** `fixed`: method, path, bodySha256, model ('' for none), upstream. */
  constructor(readonly fixed: string, private readonly rawHeaders: readonly string[], private readonly rawQuery: string | null) {}

  headersJson(): string {
    if (this.headers !== null) return this.headers;
    const headers: Record<string, string> = {};
    const raw = this.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const lower = raw[i].toLowerCase();
      if (HIDDEN.has(lower)) continue;
      headers[lower] = headers[lower] === undefined ? raw[i + 1] : `${headers[lower]}, ${raw[i + 1]}`;
    }
    return (this.headers = JSON.stringify(headers));
  }

  queryJson(): string {
    if (this.query !== null) return this.query;
    const params: Record<string, string | string[]> = {};
    if (this.rawQuery !== null) {
      for (const [name, value] of new URLSearchParams(this.rawQuery)) {
        if (name === CREDENTIAL_PARAM) continue;
        const prev = params[name];
        params[name] = prev === undefined ? value : ([] as string[]).concat(prev, value);
      }
    }
    return (this.query = JSON.stringify(params));
  }
}

/** One attempt's request: the packed scalars, and its base for the headers and query. */
export interface ScriptRequest {
  readonly packed: string;
  readonly base: ScriptRequestBase;
}

export function scriptRequestBase(parts: ScriptRequestParts): ScriptRequestBase {
  const queryAt = parts.upstreamPath.indexOf('?');
  const path = queryAt === -1 ? parts.upstreamPath : parts.upstreamPath.slice(0, queryAt);
  const body = parts.body;
  const bodySha256 = body === 'stream' ? '' : body === null || body.length === 0 ? EMPTY_SHA256 : sha256Hex(body);
  const s = FIELD_SEPARATOR;
  const fixed = field(parts.method) + s + field(path) + s + bodySha256 + s + field(parts.model ?? '') + s + field(parts.upstream);
  return new ScriptRequestBase(fixed, parts.rawHeaders, queryAt === -1 ? null : parts.upstreamPath.slice(queryAt + 1));
}

/** The whole request for one attempt: the base, then keyName, keyFingerprint, attempt, now and (when allowed) the key. */
export function scriptRequestJson(base: ScriptRequestBase, key: Pick<ApiKeyState, 'name' | 'fingerprint' | 'secret'>, attempt: number, now: number, canReadKey: boolean): ScriptRequest {
  const s = FIELD_SEPARATOR;
  const packed = base.fixed + s + field(key.name) + s + field(key.fingerprint) + s + attempt + s + now;
  return { packed: canReadKey ? packed + s + field(key.secret) : packed, base };
}
