// The model a request asks for, read from a buffered JSON body: `model` at the
// top level (found by a byte scan, no parse), or the upstream's `modelPath`
// (a full parse, then jsonpath-plus with script evaluation off). Used for
// per-model key cooldowns and the log row; a body that is not JSON, or not
// buffered, has no model.

import { JSONPath } from 'jsonpath-plus';
import { topLevelString } from '../inspect/json-scan.ts';

const MAX_MODEL_CHARS = 200;

function looksLikeJson(body: Buffer, contentType: string | undefined): boolean {
  if (contentType !== undefined && contentType.includes('json')) return true;
  // SDKs nearly always label JSON, but a bare `{` is cheap to accept.
  return contentType === undefined && body.length > 0 && body[0] === 0x7b;
}

function asModel(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0) return null;
  return value.length > MAX_MODEL_CHARS ? value.slice(0, MAX_MODEL_CHARS) : value;
}

export function readModel(body: Buffer, contentType: string | undefined, modelPath: string | null): string | null {
  if (!looksLikeJson(body, contentType)) return null;
  if (modelPath === null) return asModel(topLevelString(body, 'model'));
  try {
    const json: unknown = JSON.parse(body.toString('utf8'));
    if (typeof json !== 'object' || json === null) return null;
    const found: unknown = JSONPath({ path: modelPath, json, eval: false, wrap: true });
    return Array.isArray(found) ? asModel(found[0]) : null;
  } catch {
    return null;
  }
}
