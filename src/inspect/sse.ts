// Server-sent events (WHATWG HTML §9.2), the one parser: any of CRLF, LF, CR
// ends a line; a blank line dispatches; `:` starts a comment; an event's
// `data:` lines are joined with "\n". EventStreamReader splits lines with
// indexOf over chunks as they arrive (no regex, no per-line array); the proxy's
// SseScanner watches a stream as it is forwarded, to learn the token usage and
// whether the upstream reported an error mid-stream, JSON-parsing only the rare
// events that can carry either, so the common content delta costs a few
// substring searches. Rules read a finished body with parseEventStreamJson.
import type { TokenUsage } from '../state/types.ts';
import { mergeUsage, readUsageReport } from './usage.ts';

/** A partial line (or one event's data) longer than this is dropped, not buffered. */
export const MAX_SSE_LINE_CHARS = 1024 * 1024;

const LF = 10;
const CR = 13;

/** Splits an event stream into events; a subclass says what an event means. */
export abstract class EventStreamReader {
  readonly #decoder = new TextDecoder('utf-8');
  #partial = '';
  /** The current line outgrew the limit: skip it up to its end. */
  #skippingLine = false;
  /** The previous chunk ended in CR, so a leading LF belongs to that line break. */
  #afterCr = false;
  #eventName = '';
  #data: string | null = null;
  #dataTooLong = false;

  constructor(private readonly maxLineChars: number = MAX_SSE_LINE_CHARS) {}

  /** One dispatched event: its name ('' when none), its data (null when it had no data line), and whether the data outgrew the limit. */
  protected abstract onEvent(name: string, data: string | null, tooLong: boolean): void;

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
      if (this.#partial.length > this.maxLineChars) {
        this.#partial = '';
        this.#skippingLine = true;
      }
    }
  }

  /** The body is complete: a last line without its line break still counts, and a last event without its blank line is dispatched. */
  end(): void {
    if (this.#partial !== '') this.#endLine('', 0, 0);
    this.#dispatch();
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
    if (this.#data.length > this.maxLineChars) {
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
    this.onEvent(name, data, tooLong);
  }
}

export class SseScanner extends EventStreamReader {
  /** Events dispatched with data, `[DONE]` not counted. */
  events = 0;
  /** The last data payload that was JSON-parsed (only those that may carry usage or an error are). */
  lastDataJson: unknown = undefined;
  sawError = false;
  /** The parsed data (or raw text when not JSON) of the first error seen. */
  errorPayload: unknown = undefined;
  usage: TokenUsage | null = null;

  protected override onEvent(name: string, data: string | null, tooLong: boolean): void {
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

/** Whether a body is an event stream: by its content type, or by how it starts when the type is missing or wrong. */
export function looksLikeEventStream(contentType: string | undefined, body: string | null): boolean {
  if (contentType?.toLowerCase().includes('text/event-stream')) return true;
  if (body === null) return false;
  const start = body.trimStart();
  return start.startsWith('data:') || start.startsWith('event:');
}

type Parse = (text: string) => { ok: true; value: unknown } | { ok: false };

function plainJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Collects the JSON payloads of a finished body's events (see parseEventStreamJson). */
class JsonPayloads extends EventStreamReader {
  readonly payloads: unknown[] = [];

  constructor(private readonly parseJson: Parse) {
    // The body the rules read is already capped; none of it is dropped here.
    super(Number.POSITIVE_INFINITY);
  }

  protected override onEvent(_name: string, data: string | null): void {
    if (data === null || data.trim() === '[DONE]') return;
    const parsed = this.parseJson(data);
    if (parsed.ok) {
      this.payloads.push(parsed.value);
      return;
    }
    // Some upstreams put one JSON document per data line without blank lines
    // between events; read those line by line rather than losing them.
    if (!data.includes('\n')) return;
    for (const line of data.split('\n')) {
      const single = this.parseJson(line);
      if (single.ok) this.payloads.push(single.value);
    }
  }
}

/**
 * The JSON payloads of a (possibly truncated) event stream, in order, for the
 * rules. Payloads that are not JSON are skipped, so a cut-off last event is
 * simply ignored; OpenAI-style streams end with `data: [DONE]`, which is not JSON.
 */
export function parseEventStreamJson(body: string, parseJson: Parse = plainJson): unknown[] {
  const reader = new JsonPayloads(parseJson);
  reader.push(body);
  reader.end();
  return reader.payloads;
}
