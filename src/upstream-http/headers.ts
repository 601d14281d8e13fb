// Header hygiene for both directions of the proxy. The
// inputs are raw arrays/records straight from node:http and undici; outputs
// are shapes those libraries accept without throwing.

import type { IncomingHttpHeaders } from 'node:http';
import type { AuthType } from '../state/types.ts';
import { readQueryParam } from './target-url.ts';

/**
 * Meaningful only on one hop (RFC 9110 §7.6.1), plus `expect`: undici throws
 * on several of these (`transfer-encoding`, `keep-alive`, `upgrade`,
 * `expect`), and forwarding any of them lets a client speak to the upstream
 * connection rather than through it.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/**
 * Request headers keyrelay decides itself. `host` comes from the Pool's
 * origin; `content-length` from the buffered body (or undici's framing).
 * keyrelay is the edge: whatever a client puts in X-Forwarded-* / Forwarded /
 * X-Real-IP is unverified, and upstreams may rate-limit or geo-route on it,
 * so those are replaced with what we saw rather than appended to.
 */
export const SET_BY_PROXY: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'forwarded',
  'x-real-ip',
]);

/** Thrown right before sending when a stored name/value would be unsafe on the wire. */
export class UnsafeHeaderError extends Error {
  readonly code = 'UNSAFE_HEADER';
  // The value is never included: it may be a key.
  constructor(readonly headerName: string) {
    super(`unsafe header: ${isSafeHeaderName(headerName) ? headerName : '(invalid name)'}`);
    this.name = 'UnsafeHeaderError';
  }
}

// RFC 9110 §5.6.2 tchar: "!#$%&'*+-.^_`|~" DIGIT ALPHA.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR[c.charCodeAt(0)] = 1;
}

export function isSafeHeaderName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** No CR, LF, NUL or other controls (HTAB allowed); nothing above 0xFF, which Node/undici cannot encode. */
export function isSafeHeaderValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/** Lower-case header names listed in Connection headers, or null when none beyond the usual. */
function connectionNamed(names: Iterable<string | undefined> | null): Set<string> | null {
  let out: Set<string> | null = null;
  if (names === null) return null;
  for (const value of names) {
    // The usual values name no header; skip the split (this runs on every request).
    if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') continue;
    for (const part of value.split(',')) {
      const token = part.trim().toLowerCase();
      if (token.length === 0 || token === 'close' || HOP_BY_HOP.has(token)) continue;
      (out ??= new Set()).add(token);
    }
  }
  return out;
}

function rawConnectionValues(raw: readonly string[]): string[] | null {
  let values: string[] | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (lower === 'connection' || lower === 'proxy-connection') (values ??= []).push(raw[i + 1]);
  }
  return values;
}

// Static headers are config objects replaced wholesale on change, so their
// lower-cased names are computed once per object, not per request.
const staticNameCache = new WeakMap<Readonly<Record<string, string>>, ReadonlySet<string>>();
function staticNames(headers: Readonly<Record<string, string>>): ReadonlySet<string> {
  let names = staticNameCache.get(headers);
  if (names === undefined) {
    names = new Set(Object.keys(headers).map((n) => n.toLowerCase()));
    staticNameCache.set(headers, names);
  }
  return names;
}

export interface UpstreamHeaderOptions {
  clientIp: string;
  proto: 'http' | 'https';
  /** Lower-case names of client credential headers (authorization, x-api-key, ...). */
  stripNames: ReadonlySet<string>;
  staticHeaders: Readonly<Record<string, string>>;
  /** `cacheKey`: an object standing for the key (its state), under which the checked header value is remembered. */
  auth: { type: AuthType; name: string | null; secret: string; cacheKey?: object };
  /** Set when the body is buffered; null leaves framing to undici. */
  contentLength: number | null;
  /** Computed by the upstream's header script (lower-case names, checked): after the static headers, before the key. */
  scriptHeaders?: ReadonlyMap<string, string> | null;
}

function authHeaderName(auth: UpstreamHeaderOptions['auth']): string | null {
  if (auth.type === 'BEARER') return 'authorization';
  if (auth.type === 'QUERY') return null;
  if (auth.name === null || !isSafeHeaderName(auth.name)) throw new UnsafeHeaderError(auth.name ?? '');
  return auth.name.toLowerCase();
}

// Hop-by-hop, proxy-set and the caller's stripped names in one set, per
// stripNames set (a constant in practice): one lookup per client header.
const droppedCache = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>();
function droppedNames(stripNames: ReadonlySet<string>): ReadonlySet<string> {
  let names = droppedCache.get(stripNames);
  if (names === undefined) {
    names = new Set([...HOP_BY_HOP, ...SET_BY_PROXY, ...stripNames]);
    droppedCache.set(stripNames, names);
  }
  return names;
}

// Key header values already checked, so a request neither rebuilds
// "Bearer <secret>" nor scans it again. Cached per key object (weakly: a
// deleted key takes its entry along) and only while its secret is the one
// checked; callers without a key object get no caching.
const checkedAuth = new WeakMap<object, { type: AuthType; secret: string; value: string }>();

function authHeaderValue(auth: UpstreamHeaderOptions['auth'], name: string): string {
  const cached = auth.cacheKey === undefined ? undefined : checkedAuth.get(auth.cacheKey);
  if (cached !== undefined && cached.secret === auth.secret && cached.type === auth.type) return cached.value;
  const value = checkAuthValue(auth.secret, auth.type === 'BEARER' ? 'Bearer ' + auth.secret : auth.secret, name);
  if (auth.cacheKey !== undefined) checkedAuth.set(auth.cacheKey, { type: auth.type, secret: auth.secret, value });
  return value;
}

function checkAuthValue(secret: string, value: string, name: string): string {
  // Checked here as well as when saved: a stored CR/LF must fail closed.
  if (secret.length === 0 || !isSafeHeaderValue(value)) throw new UnsafeHeaderError(name);
  return value;
}

/**
 * Flat `[name, value, ...]` request headers for undici. The pool key is added
 * last and wins over anything the client or the static config sent under the
 * same name; for QUERY auth the caller appends the query parameter instead.
 */
export function buildUpstreamHeaders(raw: readonly string[], opts: UpstreamHeaderOptions): string[] {
  const authName = authHeaderName(opts.auth);
  const fixed = staticNames(opts.staticHeaders);
  const dropped = droppedNames(opts.stripNames);
  const named = connectionNamed(rawConnectionValues(raw));
  const scripted = opts.scriptHeaders ?? null;
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (dropped.has(lower)) continue;
    if (fixed.has(lower) || lower === authName || (named !== null && named.has(lower))) continue;
    if (scripted !== null && scripted.has(lower)) continue;
    out.push(raw[i], raw[i + 1]);
  }
  if (!isSafeHeaderValue(opts.clientIp)) throw new UnsafeHeaderError('x-forwarded-for');
  out.push('x-forwarded-for', opts.clientIp, 'x-forwarded-proto', opts.proto);
  for (const name in opts.staticHeaders) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || SET_BY_PROXY.has(lower) || lower === authName) continue;
    if (scripted !== null && scripted.has(lower)) continue;
    const value = opts.staticHeaders[name];
    if (!isSafeHeaderName(name) || !isSafeHeaderValue(value)) throw new UnsafeHeaderError(name);
    out.push(name, value);
  }
  // Checked by scripts/script-headers.ts on every run; the key's own header still wins.
  if (scripted !== null) for (const [name, value] of scripted) if (name !== authName) out.push(name, value);
  if (opts.contentLength !== null) out.push('content-length', String(opts.contentLength));
  if (authName !== null) out.push(authName, authHeaderValue(opts.auth, authName));
  return out;
}

export type ResponseHeaders = Record<string, string | string[]>;

function addHeader(out: ResponseHeaders, name: string, value: string | string[]): void {
  const prev = out[name];
  if (prev === undefined) out[name] = value;
  else out[name] = ([] as string[]).concat(prev, value);
}

/**
 * Response headers safe to hand to `ServerResponse.writeHead`: hop-by-hop and
 * Connection-named headers dropped, repeated fields (set-cookie) kept as
 * arrays. Accepts undici's `Record` (lower-case names) or a raw flat array.
 */
export function filterResponseHeaders(
  raw: readonly string[] | Readonly<Record<string, string | string[] | undefined>>,
): ResponseHeaders {
  const out: ResponseHeaders = {};
  if (Array.isArray(raw)) {
    const flat: readonly string[] = raw;
    const named = connectionNamed(rawConnectionValues(flat));
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const lower = flat[i].toLowerCase();
      if (HOP_BY_HOP.has(lower) || (named !== null && named.has(lower))) continue;
      addHeader(out, lower, flat[i + 1]);
    }
    return out;
  }
  const record = raw as Readonly<Record<string, string | string[] | undefined>>;
  const conn = record['connection'];
  const named = conn === undefined ? null : connectionNamed(typeof conn === 'string' ? [conn] : conn);
  for (const name in record) {
    const value = record[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || (named !== null && named.has(lower))) continue;
    addHeader(out, lower, value);
  }
  return out;
}

function firstValue(value: string | string[] | undefined): string | null {
  const v = typeof value === 'string' ? value : value?.[0];
  if (v === undefined) return null;
  const trimmed = v.trim();
  return trimmed.length > 0 ? trimmed : null;
}

/**
 * The client's gateway token: `authorization: Bearer x`, then `x-api-key`,
 * then `x-goog-api-key`, then the `key` query parameter (so OpenAI, Anthropic
 * and Gemini SDKs work unchanged). `search` is the raw query, '?' optional.
 */
export function readClientCredential(headers: IncomingHttpHeaders, search: string): string | null {
  const auth = firstValue(headers.authorization);
  if (auth !== null && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') {
    const token = auth.slice(7).trim();
    if (token.length > 0) return token;
  }
  const apiKey = firstValue(headers['x-api-key']) ?? firstValue(headers['x-goog-api-key']);
  if (apiKey !== null) return apiKey;
  const fromQuery = search.length > 0 ? readQueryParam(search, 'key') : null;
  return fromQuery !== null && fromQuery.length > 0 ? fromQuery : null;
}
