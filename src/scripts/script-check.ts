// Save time: a header script must compile and run once against a sample
// request, under the same limits as at request time, before it is stored.
// testHeaderScript runs the same check on a request the admin describes.

import { UserInputError } from '../errors.ts';
import type { ScriptEngine } from './engine.ts';
import type { HeaderScriptOptions } from './header-script.ts';
import { ScriptError } from './script-error.ts';
import { scriptRequestBase, scriptRequestJson, type ScriptRequest } from './script-request.ts';

/** What testHeaderScript may set; anything left out takes the sample's value. */
export interface SampleRequest {
  method?: string | null;
  /** Path and query as the upstream would see it. */
  path?: string | null;
  headers?: Record<string, string> | null;
  body?: string | null;
  model?: string | null;
  keyName?: string | null;
  keyFingerprint?: string | null;
  /** Shown to the script as `request.key` only when the upstream lets scripts read the key. */
  key?: string | null;
  attempt?: number | null;
  now?: number | null;
}

export interface ScriptRunOutcome {
  headers: Record<string, string> | null;
  error: ScriptError | null;
  durationMs: number;
}

const SAMPLE_KEY = 'sk-sample-key-for-the-script-check';

export function sampleRequestJson(upstream: string, canReadKey: boolean, given: SampleRequest = {}): { json: ScriptRequest; key: string } {
  const headers = given.headers ?? { 'content-type': 'application/json' };
  const base = scriptRequestBase({
    method: (given.method ?? 'POST').toUpperCase(),
    upstreamPath: given.path ?? '/v1/chat/completions',
    rawHeaders: Object.entries(headers).flat(),
    body: Buffer.from(given.body ?? '{"model":"sample-model","messages":[]}', 'utf8'),
    model: given.model ?? 'sample-model',
    upstream,
  });
  const key = given.key ?? SAMPLE_KEY;
  const keyState = { name: given.keyName ?? 'sample-key', fingerprint: given.keyFingerprint ?? 'sample', secret: key };
  return { json: scriptRequestJson(base, keyState, given.attempt ?? 1, given.now ?? Date.now(), canReadKey), key };
}

/** Compiles the script in a throwaway sandbox and runs it once; never throws for the script's faults. */
export function runScriptOnce(engine: ScriptEngine, source: string, opts: HeaderScriptOptions, sample: SampleRequest = {}): ScriptRunOutcome {
  const started = performance.now();
  const script = (() => {
    try {
      return engine.compile(source, opts);
    } catch (error) {
      if (error instanceof ScriptError) return error;
      throw error;
    }
  })();
  if (script instanceof ScriptError) return { headers: null, error: script, durationMs: performance.now() - started };
  try {
    const { json, key } = sampleRequestJson(opts.upstream, opts.canReadKey, sample);
    const headers = Object.fromEntries(script.run(json, key, false));
    return { headers, error: null, durationMs: performance.now() - started };
  } catch (error) {
    if (error instanceof ScriptError) return { headers: null, error, durationMs: performance.now() - started };
    throw error;
  } finally {
    script.dispose();
  }
}

/** Throws BAD_USER_INPUT on `field` when the script would not work; the message carries line and column. */
export function assertScriptWorks(engine: ScriptEngine | null, source: string, opts: HeaderScriptOptions, field: string): void {
  if (engine === null) throw new UserInputError(`${field}: header scripts are not available on this instance`, field);
  const { error } = runScriptOnce(engine, source, opts);
  if (error !== null) throw new UserInputError(`${field}: ${error.describe()}`, field);
}
