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

/** Buffer.lastIndexOf for a short needle found near the end (where usage sits): a plain loop beats the native call's overhead. */
function lastIndexOfKey(buf: Buffer, key: Buffer): number {
  const first = key[0];
  outer: for (let i = buf.length - key.length; i >= 0; i--) {
    if (buf[i] !== first) continue;
    for (let j = 1; j < key.length; j++) if (buf[i + j] !== key[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Token usage from a JSON response body: the last `"usage": {...}` object is
 * cut out and read alone (OpenAI and Anthropic put it at the top level,
 * OpenAI last). Gemini's usageMetadata and odd shapes fall back to a full parse.
 */
export function usageFromJsonBuffer(buf: Buffer): TokenUsage | null {
  const at = lastIndexOfKey(buf, USAGE_KEY);
  if (at < 0) return buf.includes('usageMetadata') ? usageFromJsonText(buf.toString('utf8')) : null;
  let i = at + USAGE_KEY.length;
  while (i < buf.length && (isSpace(buf[i]) || buf[i] === COLON)) i++;
  if (buf[i] !== OPEN_BRACE) return null;
  const flat = flatNumbers(buf, i);
  if (flat !== null) return usageFromJson({ usage: flat });
  const end = skipContainer(buf, i);
  if (end < 0) return null;
  try {
    return usageFromJson({ usage: JSON.parse(buf.toString('utf8', i, end)) as unknown });
  } catch {
    return null;
  }
}

const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** The keys usage readers look at (usage.ts); others are skipped. */
const USAGE_FIELDS = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'];

/** Values of USAGE_FIELDS while one usage object is read: a number, null (present, not a plain count) or undefined (absent). */
const slots: (number | null | undefined)[] = new Array(USAGE_FIELDS.length).fill(undefined);

/**
 * The usage fields of the object starting at buf[start], each a plain non-negative integer, or null for a
 * present field with any other value (readers only count numbers, but notice
 * which fields are present). Null when anything needs a real parser (escaped
 * keys, fractions, exponents, odd syntax): JSON.parse decides then. This
 * reads the usage object of nearly every response for a fraction of
 * JSON.parse's cost.
 */
function flatNumbers(buf: Buffer, start: number): Record<string, number | null> | null {
  slots.fill(undefined);
  return scanFields(buf, start) ? slotsAsObject() : null;
}

function slotsAsObject(): Record<string, number | null> {
  // OpenAI's three counts, the usual case, as one literal (one object shape).
  if (slots[0] !== undefined && slots[1] !== undefined && slots[2] !== undefined && slots[3] === undefined && slots[4] === undefined && slots[5] === undefined && slots[6] === undefined) {
    return { prompt_tokens: slots[0], completion_tokens: slots[1], total_tokens: slots[2] };
  }
  const out: Record<string, number | null> = {};
  for (let f = 0; f < USAGE_FIELDS.length; f++) if (slots[f] !== undefined) out[USAGE_FIELDS[f]] = slots[f]!;
  return out;
}

function fieldAt(buf: Buffer, keyStart: number, keyEnd: number): number {
  const length = keyEnd - keyStart - 2;
  for (let f = 0; f < USAGE_FIELDS.length; f++) {
    const name = USAGE_FIELDS[f];
    if (name.length === length && keyEquals(buf, keyStart, keyEnd, name)) return f;
  }
  return -1;
}

/** Reads the fields into `slots`; false when the object is not the plain kind (or not complete). */
function scanFields(buf: Buffer, start: number): boolean {
  let i = start + 1;
  const last = buf.length;
  while (i < last && isSpace(buf[i])) i++;
  if (buf[i] === CLOSE_BRACE) return true;
  for (;;) {
    if (buf[i] !== QUOTE) return false;
    const keyEnd = skipString(buf, i);
    if (keyEnd < 0 || keyEnd > last) return false;
    for (let k = i + 1; k < keyEnd - 1; k++) if (buf[k] === BACKSLASH) return false;
    const field = fieldAt(buf, i, keyEnd);
    i = keyEnd;
    while (i < last && isSpace(buf[i])) i++;
    if (buf[i] !== COLON) return false;
    i++;
    while (i < last && isSpace(buf[i])) i++;
    const c = buf[i];
    if (c >= DIGIT_0 && c <= DIGIT_9) {
      let n = 0;
      let j = i;
      while (j < last && buf[j] >= DIGIT_0 && buf[j] <= DIGIT_9) n = n * 10 + (buf[j++] - DIGIT_0);
      // Fractions, exponents, leading zeros and huge values go to JSON.parse.
      if (j - i > 15 || (c === DIGIT_0 && j - i > 1) || (buf[j] !== 0x2c && buf[j] !== CLOSE_BRACE && !isSpace(buf[j]))) return false;
      if (field >= 0) slots[field] = n;
      i = j;
    } else if (c === MINUS) {
      return false;
    } else {
      const valueEnd = c === QUOTE ? skipString(buf, i) : c === OPEN_BRACE || c === OPEN_BRACKET ? skipContainer(buf, i) : literalEnd(buf, i, last);
      if (valueEnd < 0 || valueEnd > last) return false;
      if (field >= 0) slots[field] = null;
      i = valueEnd;
    }
    while (i < last && isSpace(buf[i])) i++;
    if (buf[i] === CLOSE_BRACE) return true;
    if (buf[i] !== 0x2c /* , */) return false;
    i++;
    while (i < last && isSpace(buf[i])) i++;
  }
}

const LITERALS = ['true', 'false', 'null'].map((w) => Buffer.from(w));

/** The end of a true/false/null literal at i, or -1. */
function literalEnd(buf: Buffer, i: number, last: number): number {
  for (const word of LITERALS) {
    if (i + word.length <= last && buf.compare(word, 0, word.length, i, i + word.length) === 0) return i + word.length;
  }
  return -1;
}
