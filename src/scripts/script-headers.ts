// The host's check of what a script returned, at save time and on every run:
// valid names and values (no CR/LF or other controls), none of the headers
// keyrelay sets itself, and bounded size.

import { HOP_BY_HOP, SET_BY_PROXY, isSafeHeaderName, isSafeHeaderValue } from '../upstream-http/headers.ts';
import { ScriptError } from './script-error.ts';

/** Lower-case header name -> value. */
export type ScriptHeaders = ReadonlyMap<string, string>;

const MAX_HEADERS = 64;
const MAX_JSON_CHARS = 64 * 1024;
/** Set by keyrelay from what it saw, or by the HTTP client from the body (headers.ts explains each). */
const RESERVED: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...SET_BY_PROXY]);

const fail = (message: string) => new ScriptError('result', message);

export function checkScriptHeaders(json: string): ScriptHeaders {
  if (json.length > MAX_JSON_CHARS) throw fail(`the script returned more than ${MAX_JSON_CHARS / 1024} KiB of headers`);
  const object = JSON.parse(json) as Record<string, string>;
  const out = new Map<string, string>();
  for (const name in object) {
    if (out.size >= MAX_HEADERS) throw fail(`the script returned more than ${MAX_HEADERS} headers`);
    const shown = JSON.stringify(name.slice(0, 100));
    if (!isSafeHeaderName(name)) throw fail(`${shown} is not a valid header name`);
    const lower = name.toLowerCase();
    if (RESERVED.has(lower)) throw fail(`${shown} is set by keyrelay, not by scripts`);
    if (out.has(lower)) throw fail(`${shown} is returned twice (header names are case-insensitive)`);
    // The value is never shown: it may be a signature or a secret.
    if (!isSafeHeaderValue(object[name])) throw fail(`the value of ${shown} contains CR, LF or another character not allowed in a header`);
    out.set(lower, object[name]);
  }
  return out;
}
