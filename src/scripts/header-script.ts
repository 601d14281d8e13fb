// One upstream's compiled header script: a QuickJS runtime (memory and stack
// limits, an interrupt handler for the time limit) and a context holding the
// compiled function, reused across requests. A run costs one string in (the
// packed request) and one string out (the headers, U+0001-separated). A run that fails
// disposes the runtime and builds a fresh one, so nothing a broken run left
// behind (a half-built object, a heap near its limit) reaches the next.
// Cost (2026-12-06, 2 shared cores): the README's signing script takes about
// 12 µs of CPU per run in-process (`npm run bench:header-script`; an empty
// script 6) and adds about 37 µs per request to the whole gateway, of which
// 22 µs inside the run (`npm run bench:header-script-gateway`; an empty script
// 14 and 9): with the rest of each request around it, most likely the
// interpreter's code is no longer in the instruction caches (flushing the data
// cache between in-process runs did not make them dearer), and the two headers
// it returns are checked, built and sent. What a run pays in-process: the call into the
// sandbox and back (~1.2 µs), unpacking the request (~2), the script and its
// helper call (the HMAC ~1.7 µs on the host, the crossing ~2), checking and
// flattening the result (~1), the host's check of it (~0.5) and hashing the body (~0.3).

import { performance } from 'node:perf_hooks';
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten-core';
import type { ScriptEngine, ScriptStats } from './engine.ts';
import { fastCall, type FastCall } from './fast-host-call.ts';
import { installGlobals } from './sandbox-globals.ts';
import { SCRIPT_FILE, ScriptError, toScriptError } from './script-error.ts';
import { checkScriptHeaders, type ScriptHeaders } from './script-headers.ts';
import { RunClock } from './run-clock.ts';
import type { ScriptRequest } from './script-request.ts';

export interface HeaderScriptOptions {
  /** The upstream's name, for errors and metrics. */
  upstream: string;
  secrets: Readonly<Record<string, string>>;
  /** Whether `request.key` carries the key; the key is then redacted from script errors too. */
  canReadKey: boolean;
}

// Unpacks the request (script-request.ts: U+0001-separated scalars; headers
// and query fetched from the host as JSON on first read, during the run only),
// runs the admin's function, checks the result is a plain object of strings
// inside the sandbox (getters and proxies run under the time limit there), and
// hands back one string (see checkScriptHeaders).
const RUNNER = `(function (fn, part) {
  'use strict';
  // A plain object on a shared prototype: cheaper in QuickJS than a class instance with private fields.
  // The request being run; headers and query are fetched from the host only for it.
  let live = null;
  const lazy = (request, name) => {
    // The host serves the request being run: a request kept for a later run has what it read in its own run.
    if (request !== live) throw new TypeError('request.' + name + ' can only be read during its own run');
    const value = JSON.parse(part(name));
    Object.defineProperty(request, name, { value, writable: true, configurable: true });
    return value;
  };
  const proto = Object.freeze({ get headers() { return lazy(this, 'headers'); }, get query() { return lazy(this, 'query'); } });
  return function (packed) {
    const p = packed.split('\\u0001');
    const request = { __proto__: proto, method: p[0], path: p[1], bodySha256: p[2], model: p[3] === '' ? null : p[3], upstream: p[4],
      keyName: p[5], keyFingerprint: p[6], attempt: +p[7], now: +p[8] };
    if (p.length > 9) request.key = p[9];
    let out;
    live = request;
    try { out = fn(request); } finally { live = null; }
    if (out === null || typeof out !== 'object' || Array.isArray(out) || typeof out.then === 'function') {
      throw new TypeError('the script must return an object of header name to string value');
    }
    // The count, then name and value, each ended by U+0001 (checkScriptHeaders); a JSON.stringify cost more than the rest of the runner.
    const names = Object.keys(out);
    let flat = names.length + '\\u0001';
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const value = out[name];
      if (typeof value !== 'string') throw new TypeError('header "' + String(name).slice(0, 100) + '" must be a string, not ' + typeof value);
      flat += name + '\\u0001' + value + '\\u0001';
    }
    return flat;
  };
})`;

/** What the proxy runs: a compiled script, or one that fails closed (see upstream-script.ts). */
export interface UpstreamScript {
  readonly upstream: string;
  readonly opts: HeaderScriptOptions;
  run(request: ScriptRequest, key: string | null): ScriptHeaders;
  dispose(): void;
}

/** Time for building a sandbox and compiling a script (see boot). */
const COMPILE_BUDGET_MS = 1000;

interface Live {
  runtime: QuickJSRuntime;
  context: QuickJSContext;
  run: QuickJSHandle;
  /** The same call without handle objects (fast-host-call.ts); null if the library's internals differ. */
  fast: FastCall | null;
}

export class HeaderScript implements UpstreamScript {
  private live: Live | null = null;
  private readonly clock = new RunClock();
  /** This upstream's counters in the engine, looked up on the first counted run. */
  private stats: ScriptStats | null = null;
  private retired = false;
  private readonly secretValues: string[];
  /** The request being run, for its headers and query on demand (RUNNER's part()). */
  private current: ScriptRequest | null = null;

  /** `eager`: compile now and throw ScriptError if that fails; otherwise a failed compile is retried (and reported) per run. */
  constructor(private readonly engine: ScriptEngine, readonly source: string, readonly opts: HeaderScriptOptions, eager = true) {
    this.secretValues = Object.values(opts.secrets);
    if (eager) this.live = this.boot();
    else {
      try {
        this.live = this.boot();
      } catch {
        this.live = null;
      }
    }
  }

  get upstream(): string {
    return this.opts.upstream;
  }

  /**
   * The headers for one request; throws ScriptError (redacted, no stack).
   * `key` only for redaction; `counted: false` keeps save-time checks out of the metrics.
   */
  run(request: ScriptRequest, key: string | null, counted = true): ScriptHeaders {
    const live = (this.live ??= this.boot());
    const stats = counted ? (this.stats ??= this.engine.statsFor(this.opts.upstream)) : { runs: 0, failures: 0, seconds: 0 };
    const started = performance.now();
    this.clock.start(started, this.engine.limits.timeoutMs);
    stats.runs++;
    try {
      this.current = request;
      const result = live.fast !== null ? live.fast.call(request.packed) : this.callPublic(live, request.packed);
      if (typeof result !== 'string') {
        const dumped = live.context.dump(result.error);
        result.error.dispose();
        throw toScriptError(dumped, false, this.redactionList(key), this.engine.redactor);
      }
      return checkScriptHeaders(result);
    } catch (error) {
      stats.failures++;
      this.reset();
      throw error instanceof ScriptError ? error : new ScriptError('throw', 'the script sandbox failed');
    } finally {
      this.current = null;
      stats.seconds += (performance.now() - started) / 1000;
      // A retired script (its upstream was reloaded mid-request) keeps no context alive.
      if (this.retired) this.reset();
    }
  }

  /** Frees the sandbox; a later run (a request still in flight) builds a throwaway one. */
  dispose(): void {
    this.retired = true;
    this.reset();
  }

  private redactionList(key: string | null): string[] {
    return key !== null && this.opts.canReadKey ? [...this.secretValues, key] : this.secretValues;
  }

  private callPublic(live: Live, packed: string): string | { error: QuickJSHandle } {
    const arg = live.context.newString(packed);
    const result = live.context.callFunction(live.run, live.context.undefined, arg);
    arg.dispose();
    if (result.error) return { error: result.error };
    const json = live.context.getString(result.value);
    result.value.dispose();
    return json;
  }

  private requestPart(name: string | undefined): string | undefined {
    const request = this.current;
    if (request === null) return undefined;
    if (name === 'headers') return request.base.headersJson();
    if (name === 'query') return request.base.queryJson();
    return undefined;
  }

  private reset(): void {
    const live = this.live;
    this.live = null;
    if (live === null) return;
    live.fast?.dispose();
    live.run.dispose();
    live.context.dispose();
    live.runtime.dispose();
  }

  private boot(): Live {
    const { limits, module } = this.engine;
    const runtime = module.newRuntime();
    runtime.setMemoryLimit(limits.memoryBytes);
    runtime.setMaxStackSize(limits.stackBytes);
    runtime.setInterruptHandler(() => this.clock.interrupt());
    const context = runtime.newContext();
    let part: QuickJSHandle | null = null;
    try {
      // Setup and compilation (the admin's text parsed, any top-level code it smuggles in run) get their
      // own, larger budget: they run when the upstream loads or after a failed run, not per request.
      this.clock.start(performance.now(), Math.max(limits.timeoutMs, COMPILE_BUDGET_MS));
      part = installGlobals(context, this.opts.secrets, () => this.clock.overdue(), ([name]) => this.requestPart(name));
      const compiled = context.evalCode(`(function (request) {\n${this.source}\n})`, SCRIPT_FILE);
      if (compiled.error) {
        const dumped = context.dump(compiled.error);
        compiled.error.dispose();
        throw toScriptError(dumped, true, this.secretValues, this.engine.redactor);
      }
      const runner = context.unwrapResult(context.evalCode(RUNNER, 'runner'));
      const made = context.callFunction(runner, context.undefined, compiled.value, part);
      runner.dispose();
      compiled.value.dispose();
      part.dispose();
      part = null;
      const run = context.unwrapResult(made);
      return { runtime, context, run, fast: fastCall(context, run) };
    } catch (error) {
      part?.dispose();
      context.dispose();
      runtime.dispose();
      if (error instanceof ScriptError) throw error;
      throw new ScriptError('compile', 'the script sandbox could not be set up');
    }
  }
}
