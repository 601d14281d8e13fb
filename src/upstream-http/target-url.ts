// Builds the path+query sent to an undici Pool whose origin is fixed, so the
// client can steer the path under the base path but never the host.
// Everything is one char loop: no regex, no URL parsing, no decoding of the
// parts we forward (the upstream sees the client's bytes, minus what we drop).

export class BadPathError extends Error {
  readonly code = 'BAD_PATH';
  constructor(readonly reason: string) {
    super(`bad path: ${reason}`);
    this.name = 'BadPathError';
  }
}

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const PERCENT = 0x25;
const SEMICOLON = 0x3b;

/** Value of one hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** The byte a valid `%XX` at `i` encodes, or -1. */
function escapedByte(s: string, i: number): number {
  if (i + 2 >= s.length) return -1;
  const hi = hexValue(s.charCodeAt(i + 1));
  const lo = hexValue(s.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

/**
 * Validates the client path and reports whether it needs rewriting (empty
 * segments to collapse). Throws BadPathError on anything a backend might read
 * as a different path than we do.
 */
function checkClientPath(path: string): boolean {
  let collapse = false;
  // Per segment: decoded length and dot count up to the first ';'. Dot
  // segments hidden behind a matrix parameter (`..;x`) are rejected too,
  // because Tomcat-style backends strip `;...` before resolving them.
  let segLen = 0;
  let dots = 0;
  let inParams = false;
  let prevSlash = false;
  for (let i = 0; i <= path.length; i++) {
    const c = i < path.length ? path.charCodeAt(i) : SLASH;
    if (c === SLASH) {
      if (segLen > 0 && segLen === dots && dots <= 2) throw new BadPathError('dot segment');
      // An empty segment before the end ('//') gets collapsed; a trailing
      // slash is the client's and is kept.
      if (prevSlash && i < path.length) collapse = true;
      prevSlash = true;
      segLen = 0;
      dots = 0;
      inParams = false;
      continue;
    }
    prevSlash = false;
    let decoded = c;
    if (c === PERCENT) {
      decoded = escapedByte(path, i);
      if (decoded < 0) throw new BadPathError('invalid percent escape');
      if (decoded === SLASH || decoded === BACKSLASH) throw new BadPathError('encoded slash');
      i += 2;
    } else if (c === BACKSLASH) {
      throw new BadPathError('backslash');
    } else if (c === 0x3f || c === 0x23) {
      // The caller splits off the query; a '?' or '#' here means it did not.
      throw new BadPathError('unexpected character');
    } else if (c > 0x7e) {
      throw new BadPathError('non-ASCII character');
    }
    // A raw space is malformed; an encoded one (%20) is ordinary data.
    if (decoded < 0x20 || decoded === 0x7f || c === 0x20) throw new BadPathError('control character');
    if (inParams) continue;
    if (c === SEMICOLON) {
      inParams = true;
      continue;
    }
    segLen++;
    if (decoded === DOT) dots++;
  }
  return collapse;
}

/** Rebuilds `path` with empty segments removed; the trailing slash is kept. */
function collapseSlashes(path: string): string {
  let out = '';
  let start = -1;
  for (let i = 0; i < path.length; i++) {
    if (path.charCodeAt(i) === SLASH) {
      if (start >= 0) out += '/' + path.slice(start, i);
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) out += '/' + path.slice(start);
  else if (path.length > 0 && path.charCodeAt(path.length - 1) === SLASH) out += '/';
  return out;
}

function trimTrailingSlashes(base: string): string {
  let end = base.length;
  while (end > 0 && base.charCodeAt(end - 1) === SLASH) end--;
  return end === base.length ? base : base.slice(0, end);
}

/**
 * Path+query to send upstream: `basePath` (the upstream base URL's pathname)
 * joined with the client's raw path, with `stripQueryParams` removed from the
 * raw query (`search`, with its `?`, or empty).
 */
export function buildUpstreamPath(
  basePath: string,
  clientPath: string,
  search: string,
  stripQueryParams: readonly string[],
): string {
  const query = stripQuery(search, stripQueryParams);
  if (clientPath.length === 0) return (basePath.length === 0 ? '/' : basePath) + query;
  const collapse = checkClientPath(clientPath);
  const base = trimTrailingSlashes(basePath);
  let rest: string;
  if (collapse) rest = collapseSlashes(clientPath);
  else rest = clientPath.charCodeAt(0) === SLASH ? clientPath : '/' + clientPath;
  return base + (rest.length === 0 ? '/' : rest) + query;
}

function asciiLower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * Whether the query parameter name in `s[start,end)` equals `name` once
 * percent-decoded ('+' as space), ignoring ASCII case: a client must not slip
 * `K%65Y=` past the filter to servers that decode or fold case.
 */
function paramNameIs(s: string, start: number, end: number, name: string): boolean {
  let j = 0;
  for (let i = start; i < end; i++, j++) {
    let c = s.charCodeAt(i);
    if (c === PERCENT) {
      const b = escapedByte(s, i);
      if (b >= 0 && i + 2 < end) {
        c = b;
        i += 2;
      }
    } else if (c === 0x2b) {
      c = 0x20;
    }
    if (j >= name.length || asciiLower(c) !== asciiLower(name.charCodeAt(j))) return false;
  }
  return j === name.length;
}

function isStripped(s: string, start: number, end: number, names: readonly string[]): boolean {
  let nameEnd = start;
  while (nameEnd < end && s.charCodeAt(nameEnd) !== 0x3d) nameEnd++;
  for (let k = 0; k < names.length; k++) if (paramNameIs(s, start, nameEnd, names[k])) return true;
  return false;
}

/** `search` minus the named parameters; untouched (same string) when none matched. */
function stripQuery(search: string, names: readonly string[]): string {
  if (search.length > 0 && search.charCodeAt(0) !== 0x3f) throw new BadPathError('query must start with ?');
  for (let i = 1; i < search.length; i++) {
    const c = search.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x23) throw new BadPathError('bad query character');
  }
  if (search.length <= 1 || names.length === 0) return search;
  let out: string | null = null;
  let hasParams = false;
  let start = 1;
  for (let i = 1; i <= search.length; i++) {
    if (i < search.length && search.charCodeAt(i) !== 0x26) continue;
    if (isStripped(search, start, i, names)) {
      // First removal: take everything kept so far in one slice, then go on
      // parameter by parameter (the common no-match case allocates nothing).
      if (out === null) {
        hasParams = start > 1;
        out = hasParams ? search.slice(0, start - 1) : '?';
      }
    } else if (out !== null) {
      out += (hasParams ? '&' : '') + search.slice(start, i);
      hasParams = true;
    }
    start = i + 1;
  }
  if (out === null) return search;
  return out.length > 1 ? out : '';
}

function decodeQueryValue(raw: string): string {
  if (raw.indexOf('%') < 0 && raw.indexOf('+') < 0) return raw;
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return raw;
  }
}

/**
 * The decoded value of the first parameter called `name` (matched as the
 * stripping does), or null. `search` may or may not start with '?'.
 */
export function readQueryParam(search: string, name: string): string | null {
  let start = search.length > 0 && search.charCodeAt(0) === 0x3f ? 1 : 0;
  for (let i = start; i <= search.length; i++) {
    if (i < search.length && search.charCodeAt(i) !== 0x26) continue;
    let eq = start;
    while (eq < i && search.charCodeAt(eq) !== 0x3d) eq++;
    if (paramNameIs(search, start, eq, name)) return decodeQueryValue(search.slice(Math.min(eq + 1, i), i));
    start = i + 1;
  }
  return null;
}

/** Appends `name=value` (both encoded) to a path that may already carry a query. */
export function appendQueryParam(path: string, name: string, value: string): string {
  const q = path.indexOf('?');
  let sep = '&';
  if (q < 0) sep = '?';
  else if (q === path.length - 1 || path.charCodeAt(path.length - 1) === 0x26) sep = '';
  return path + sep + encodeURIComponent(name) + '=' + encodeURIComponent(value);
}
