// Watches a server-sent event stream as the proxy forwards it, to learn the
// token usage and whether the upstream reported an error mid-stream. It parses
// per the WHATWG event-stream rules (any of CRLF, LF, CR ends a line; a blank
// line dispatches; `:` starts a comment) and JSON-parses only the rare events
// that can carry usage or an error, so the common content delta costs a few
// substring searches.
import type { TokenUsage } from '../state/types.ts';
import { mergeUsage, readUsageReport } from './usage.ts';

/** A partial line (or one event's data) longer than this is dropped, not buffered. */
export const MAX_SSE_LINE_CHARS = 1024 * 1024;

const LF = 10;
const CR = 13;

export class SseScanner {
  /** Events dispatched with data, `[DONE]` not counted. */
  events = 0;
  /** The last data payload that was JSON-parsed (only those that may carry usage or an error are). */
  lastDataJson: unknown = undefined;
  sawError = false;
  /** The parsed data (or raw text when not JSON) of the first error seen. */
  errorPayload: unknown = undefined;
  usage: TokenUsage | null = null;

  readonly #decoder = new TextDecoder('utf-8');
  #partial = '';
  /** The current line outgrew the limit: skip it up to its end. */
  #skippingLine = false;
  /** The previous chunk ended in CR, so a leading LF belongs to that line break. */
  #afterCr = false;
  #eventName = '';
  #data: string | null = null;
  #dataTooLong = false;

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    const length = text.length;
    let start = this.#afterCr && text.charCodeAt(0) === LF ? 1 : 0;
    if (length > 0) this.#afterCr = false;
    let nextLf = text.indexOf('\n', start);
    let nextCr = text.indexOf('\r', start);
    while (nextLf !== -1 || nextCr !== -1) {
      const end = nextCr === -1 || (nextLf !== -1 && nextLf < nextCr) ? nextLf : nextCr;
      this.#endLine(text, start, end);
      start = end + 1;
      if (end === nextCr) {
        if (start === length) this.#afterCr = true;
        else if (text.charCodeAt(start) === LF) start++;
        nextCr = text.indexOf('\r', start);
      }
      if (nextLf !== -1 && nextLf < start) nextLf = text.indexOf('\n', start);
    }
    if (start < length && !this.#skippingLine) {
      this.#partial += start === 0 ? text : text.slice(start);
      if (this.#partial.length > MAX_SSE_LINE_CHARS) {
        this.#partial = '';
        this.#skippingLine = true;
      }
    }
  }

  #endLine(text: string, start: number, end: number): void {
    if (this.#skippingLine) {
      this.#skippingLine = false;
      return;
    }
    let line = text.slice(start, end);
    if (this.#partial !== '') {
      line = this.#partial + line;
      this.#partial = '';
    }
    if (line === '') return this.#dispatch();
    if (line.charCodeAt(0) === 58 /* : */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32 /* space */) value = value.slice(1);
    if (field === 'data') this.#appendData(value);
    else if (field === 'event') this.#eventName = value;
  }

  #appendData(value: string): void {
    if (this.#dataTooLong) return;
    this.#data = this.#data === null ? value : `${this.#data}\n${value}`;
    if (this.#data.length > MAX_SSE_LINE_CHARS) {
      this.#data = '';
      this.#dataTooLong = true;
    }
  }

  #dispatch(): void {
    const name = this.#eventName;
    const data = this.#data;
    const tooLong = this.#dataTooLong;
    this.#eventName = '';
    this.#data = null;
    this.#dataTooLong = false;

    const isErrorEvent = name === 'error';
    if (data === null) {
      // The spec drops events without data; a bare `event: error` still says the stream failed.
      if (isErrorEvent) this.#recordError(null);
      return;
    }
    if (data === '[DONE]') return;
    this.events++;
    if (tooLong) return;

    const mayCarryUsage = hasField(data, '"usage"', true) || hasField(data, '"usageMetadata"', true);
    const mayCarryError = hasField(data, '"error"', false);
    if (!isErrorEvent && !mayCarryUsage && !mayCarryError) return;

    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      if (isErrorEvent) this.#recordError(data);
      return;
    }
    this.lastDataJson = json;
    const isObject = typeof json === 'object' && json !== null;
    if (isErrorEvent || (isObject && (json as { error?: unknown }).error != null)) this.#recordError(json);
    if (mayCarryUsage) {
      const report = readUsageReport(json);
      if (report !== null) this.usage = mergeUsage(this.usage, report);
    }
  }

  #recordError(payload: unknown): void {
    if (this.sawError) return;
    this.sawError = true;
    this.errorPayload = payload;
  }
}

/**
 * Whether `json` has `name` as a key followed by a non-null value (an object
 * when `objectOnly`). OpenAI puts `"usage":null` in every chunk once usage is
 * requested; this keeps those chunks from being parsed. A false positive (the
 * name inside a string value) only costs a parse.
 */
function hasField(json: string, name: string, objectOnly: boolean): boolean {
  let at = json.indexOf(name);
  while (at !== -1) {
    let i = at + name.length;
    while (isJsonSpace(json.charCodeAt(i))) i++;
    if (json.charCodeAt(i) === 58 /* : */) {
      i++;
      while (isJsonSpace(json.charCodeAt(i))) i++;
      const c = json.charCodeAt(i);
      if (objectOnly ? c === 123 /* { */ : !Number.isNaN(c) && c !== 110 /* n(ull) */) return true;
    }
    at = json.indexOf(name, at + name.length);
  }
  return false;
}

function isJsonSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}
