// Reads one field out of a JSON document in a Buffer without parsing the
// whole document: on the hot path a request body can hold a long prompt and a
// response a long completion, and JSON.parse would build (and the GC later
// drop) every string in them just to learn the model or the token usage.
// Scanning is byte-wise and allocates only the field's value.

import type { TokenUsage } from '../state/types.ts';
import { usageFromJson, usageFromJsonText } from './usage.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index just past the string starting at `start` (a quote), or -1 when unterminated. */
function skipString(buf: Buffer, start: number): number {
  for (let i = start + 1; i < buf.length; i++) {
    const c = buf[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

/** Index just past the object or array starting at `start`, or -1. */
function skipContainer(buf: Buffer, start: number): number {
  let depth = 0;
  for (let i = start; i < buf.length; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      i = skipString(buf, i) - 1;
      if (i < 0) return -1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

function keyEquals(buf: Buffer, start: number, end: number, key: string): boolean {
  // start at the opening quote, end just past the closing one; keys with escapes never match (rare, harmless)
  if (end - start - 2 !== key.length) return false;
  for (let j = 0; j < key.length; j++) if (buf[start + 1 + j] !== key.charCodeAt(j)) return false;
  return true;
}

/**
 * The string value of `key` in the top-level object, or null (absent, not a
 * string, or not an object document). Stops at the first top-level match.
 */
export function topLevelString(buf: Buffer, key: string): string | null {
  let i = 0;
  while (i < buf.length && isSpace(buf[i])) i++;
  if (buf[i] !== OPEN_BRACE) return null;
  i++;
  while (i < buf.length) {
    const c = buf[i];
    if (isSpace(c) || c === 0x2c /* , */) {
      i++;
      continue;
    }
    if (c !== QUOTE) return null;
    const keyEnd = skipString(buf, i);
    if (keyEnd < 0) return null;
    const match = keyEquals(buf, i, keyEnd, key);
    i = keyEnd;
    while (i < buf.length && (isSpace(buf[i]) || buf[i] === COLON)) i++;
    const v = buf[i];
    let valueEnd: number;
    if (v === QUOTE) valueEnd = skipString(buf, i);
    else if (v === OPEN_BRACE || v === OPEN_BRACKET) valueEnd = skipContainer(buf, i);
    else {
      valueEnd = i;
      while (valueEnd < buf.length && buf[valueEnd] !== 0x2c && buf[valueEnd] !== CLOSE_BRACE) valueEnd++;
    }
    if (valueEnd < 0) return null;
    if (match) {
      if (v !== QUOTE) return null;
      const raw = buf.toString('utf8', i + 1, valueEnd - 1);
      if (!raw.includes('\\')) return raw;
      try {
        return JSON.parse(buf.toString('utf8', i, valueEnd)) as string;
      } catch {
        return null;
      }
    }
    i = valueEnd;
  }
  return null;
}

const USAGE_KEY = Buffer.from('"usage"');

/**
 * Token usage from a JSON response body: the last `"usage": {...}` object is
 * cut out and parsed alone (OpenAI and Anthropic put it at the top level,
 * OpenAI last). Gemini's usageMetadata and odd shapes fall back to a full parse.
 */
export function usageFromJsonBuffer(buf: Buffer): TokenUsage | null {
  const at = buf.lastIndexOf(USAGE_KEY);
  if (at < 0) return buf.includes('usageMetadata') ? usageFromJsonText(buf.toString('utf8')) : null;
  let i = at + USAGE_KEY.length;
  while (i < buf.length && (isSpace(buf[i]) || buf[i] === COLON)) i++;
  if (buf[i] !== OPEN_BRACE) return null;
  const end = skipContainer(buf, i);
  if (end < 0) return null;
  try {
    return usageFromJson({ usage: JSON.parse(buf.toString('utf8', i, end)) as unknown });
  } catch {
    return null;
  }
}
