import type { ResponseSample } from '../state/types.ts';
import { DEFAULT_BOUNDS, parseBounded, type EvalBounds } from './eval-bounds.ts';
import { looksLikeEventStream, parseEventStreamJson } from '../inspect/sse.ts';

/**
 * What compiled conditions read. Everything derived from the body is computed
 * lazily and at most once, because several rules share one context and most
 * responses never need the body parsed.
 */
export interface EvalContext {
  readonly status: number;
  readonly latencyMs: number;
  /** The captured body text; null when not captured (e.g. the headers phase). */
  readonly body: string | null;
  /** Header value by case-insensitive name; multiple values joined with ", ". */
  header(name: string): string | undefined;
  /** The body lower-cased, for case-insensitive `contains`. */
  bodyLowerCase(): string | null;
  /** The body parsed as one JSON document; undefined when absent or not JSON. */
  json(): unknown;
  /** Documents JSONPath runs against: each `data:` payload of an event stream, else the JSON body. */
  jsonDocuments(): readonly unknown[];
  /** Depth and node-visit bounds of this evaluation (see eval-bounds.ts). */
  readonly bounds: EvalBounds;
}

function lazy<T>(compute: () => T): () => T {
  let cached: { value: T } | undefined;
  return () => (cached ??= { value: compute() }).value;
}

function normaliseHeaders(headers: ResponseSample['headers']): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    const key = name.toLowerCase();
    const existing = map.get(key);
    map.set(key, existing === undefined ? text : `${existing}, ${text}`);
  }
  return map;
}

export function createEvalContext(sample: ResponseSample, bounds: EvalBounds = DEFAULT_BOUNDS): EvalContext {
  const { body } = sample;
  const headers = lazy(() => normaliseHeaders(sample.headers));
  const header = (name: string): string | undefined => headers().get(name.toLowerCase());

  const json = lazy((): unknown => {
    if (body === null) return undefined;
    const parsed = parseBounded(body, bounds);
    return parsed.ok ? parsed.value : undefined;
  });

  const jsonDocuments = lazy((): readonly unknown[] => {
    if (body === null) return [];
    if (looksLikeEventStream(header('content-type'), body)) return parseEventStreamJson(body, (text) => parseBounded(text, bounds));
    const document = json();
    return document === undefined ? [] : [document];
  });

  return {
    status: sample.status,
    latencyMs: sample.latencyMs,
    body,
    header,
    bodyLowerCase: lazy(() => (body === null ? null : body.toLowerCase())),
    json,
    jsonDocuments,
    bounds,
  };
}
