// The model a request asks for, read from a buffered JSON body: `model` at the
// top level, or the upstream's `modelPath` (jsonpath-plus with script
// evaluation off). Used for per-model key cooldowns and the log row; a body
// that is not JSON, or not buffered, has no model.

import { JSONPath } from 'jsonpath-plus';

const MAX_MODEL_CHARS = 200;

export interface ParsedRequest {
  model: string | null;
  /** The parsed body, reused by stream_options injection; undefined when not JSON. */
  json: unknown;
}

const NOT_JSON: ParsedRequest = { model: null, json: undefined };

function looksLikeJson(body: Buffer, contentType: string | undefined): boolean {
  if (contentType !== undefined && contentType.includes('json')) return true;
  // SDKs nearly always label JSON, but a bare `{` is cheap to accept.
  return contentType === undefined && body.length > 0 && body[0] === 0x7b;
}

function asModel(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0) return null;
  return value.length > MAX_MODEL_CHARS ? value.slice(0, MAX_MODEL_CHARS) : value;
}

export function parseRequest(body: Buffer, contentType: string | undefined, modelPath: string | null): ParsedRequest {
  if (!looksLikeJson(body, contentType)) return NOT_JSON;
  const text = body.toString('utf8');
  // Most non-chat JSON bodies name no model; skip the parse for them.
  if (modelPath === null && !text.includes('"model"')) return { model: null, json: undefined };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
  if (typeof json !== 'object' || json === null) return { model: null, json };
  if (modelPath === null) return { model: Array.isArray(json) ? null : asModel((json as { model?: unknown }).model), json };
  try {
    const found: unknown = JSONPath({ path: modelPath, json: json as object, eval: false, wrap: true });
    return { model: Array.isArray(found) ? asModel(found[0]) : null, json };
  } catch {
    return { model: null, json };
  }
}
