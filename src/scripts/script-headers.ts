// The host's check of what a script returned, at save time and on every run:
// valid names and values (no CR/LF or other controls), none of the headers
// keyrelay sets itself, and bounded size.

import { HOP_BY_HOP, SET_BY_PROXY, isSafeHeaderName, isSafeHeaderValue } from '../upstream-http/headers.ts';
import { ScriptError } from './script-error.ts';

/** Lower-case header name -> value. */
export type ScriptHeaders = ReadonlyMap<string, string>;

const MAX_HEADERS = 64;
const MAX_CHARS = 64 * 1024;
/** What RUNNER (header-script.ts) puts between the count and each name and value. */
const SEPARATOR = '\u0001';
/** Set by keyrelay from what it saw, or by the HTTP client from the body (headers.ts explains each). */
const RESERVED: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...SET_BY_PROXY]);

const fail = (message: string) => new ScriptError('result', message);
/** A header name as an error message quotes it (built only for a message: every run checks every name). */
const shown = (name: string) => JSON.stringify(name.slice(0, 100));

/**
 * `flat`: the number of headers, then each name and value, each followed by
 * U+0001 (cheaper to build in the sandbox than JSON). A name or value holding
 * U+0001 (or NUL, where the string crossing ends) changes the number of
 * fields, and is refused like any other control character.
 */
export function checkScriptHeaders(flat: string): ScriptHeaders {
  if (flat.length > MAX_CHARS) throw fail(`the script returned more than ${MAX_CHARS / 1024} KiB of headers`);
  const fields = flat.split(SEPARATOR);
  const count = Number(fields[0]);
  if (count > MAX_HEADERS) throw fail(`the script returned more than ${MAX_HEADERS} headers`);
  if (fields.length !== 2 * count + 2) throw fail('a header name or value contains U+0001, NUL or another character not allowed in a header');
  const out = new Map<string, string>();
  for (let i = 1; i < fields.length - 1; i += 2) {
    const name = fields[i];
    const value = fields[i + 1];
    if (!isSafeHeaderName(name)) throw fail(`${shown(name)} is not a valid header name`);
    const lower = name.toLowerCase();
    if (RESERVED.has(lower)) throw fail(`${shown(name)} is set by keyrelay, not by scripts`);
    if (out.has(lower)) throw fail(`${shown(name)} is returned twice (header names are case-insensitive)`);
    // The value is never shown: it may be a signature or a secret.
    if (!isSafeHeaderValue(value)) throw fail(`the value of ${shown(name)} contains CR, LF or another character not allowed in a header`);
    out.set(lower, value);
  }
  return out;
}
