// One upstream's compiled header script: a QuickJS runtime (memory and stack
// limits, an interrupt handler for the time limit) and a context holding the
// compiled function, reused across requests. A run costs one string in (the
// packed request) and one string out (the headers as JSON). A run that fails
// disposes the runtime and builds a fresh one, so nothing a broken run left
// behind (a half-built object, a heap near its limit) reaches the next.

import { performance } from 'node:perf_hooks';
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten-core';
import type { ScriptEngine, ScriptStats } from './engine.ts';
import { installGlobals } from './sandbox-globals.ts';
import { SCRIPT_FILE, ScriptError, toScriptError } from './script-error.ts';
import { checkScriptHeaders, type ScriptHeaders } from './script-headers.ts';
import { RunClock } from './run-clock.ts';

export interface HeaderScriptOptions {
  /** The upstream's name, for errors and metrics. */
  upstream: string;
  secrets: Readonly<Record<string, string>>;
  /** Whether `request.key` carries the key; the key is then redacted from script errors too. */
  canReadKey: boolean;
}

// Unpacks the request (script-request.ts: U+0001-separated fields, headers and
// query as JSON parsed on first read), runs the admin's function, checks the
// result is a plain object of strings inside the sandbox (getters and proxies
// run under the time limit there), and hands back one JSON string.
const RUNNER = `(function (fn) {
  'use strict';
  class Request {
    #headers; #query;
    constructor(p) {
      this.method = p[0]; this.path = p[1]; this.bodySha256 = p[2]; this.model = p[3] === '' ? null : p[3]; this.upstream = p[4];
      this.#headers = p[5]; this.#query = p[6];
      this.keyName = p[7]; this.keyFingerprint = p[8]; this.attempt = Number(p[9]); this.now = Number(p[10]);
      if (p.length > 11) this.key = p[11];
    }
    get headers() { if (typeof this.#headers === 'string') this.#headers = JSON.parse(this.#headers); return this.#headers; }
    get query() { if (typeof this.#query === 'string') this.#query = JSON.parse(this.#query); return this.#query; }
  }
  return function (packed) {
    const out = fn(new Request(packed.split('\\u0001')));
    if (out === null || typeof out !== 'object' || Array.isArray(out) || typeof out.then === 'function') {
      throw new TypeError('the script must return an object of header name to string value');
    }
    const flat = {};
    for (const name of Object.keys(out)) {
      const value = out[name];
      if (typeof value !== 'string') throw new TypeError('header "' + String(name).slice(0, 100) + '" must be a string, not ' + typeof value);
      flat[name] = value;
    }
    return JSON.stringify(flat);
  };
})`;

/** What the proxy runs: a compiled script, or one that fails closed (see upstream-script.ts). */
export interface UpstreamScript {
  readonly upstream: string;
  readonly opts: HeaderScriptOptions;
  run(requestJson: string, key: string | null): ScriptHeaders;
  dispose(): void;
}

/** Time for building a sandbox and compiling a script (see boot). */
const COMPILE_BUDGET_MS = 1000;

interface Live {
  runtime: QuickJSRuntime;
  context: QuickJSContext;
  run: QuickJSHandle;
}

export class HeaderScript implements UpstreamScript {
  private live: Live | null = null;
  private readonly clock = new RunClock();
  /** This upstream's counters in the engine, looked up on the first counted run. */
  private stats: ScriptStats | null = null;
  private retired = false;
  private readonly secretValues: string[];

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
  run(requestJson: string, key: string | null, counted = true): ScriptHeaders {
    const live = (this.live ??= this.boot());
    const stats = counted ? (this.stats ??= this.engine.statsFor(this.opts.upstream)) : { runs: 0, failures: 0, seconds: 0 };
    const started = performance.now();
    this.clock.start(started, this.engine.limits.timeoutMs);
    stats.runs++;
    try {
      const arg = live.context.newString(requestJson);
      const result = live.context.callFunction(live.run, live.context.undefined, arg);
      arg.dispose();
      if (result.error) {
        const dumped = live.context.dump(result.error);
        result.error.dispose();
        throw toScriptError(dumped, false, this.redactionList(key), this.engine.redactor);
      }
      const json = live.context.getString(result.value);
      result.value.dispose();
      return checkScriptHeaders(json);
    } catch (error) {
      stats.failures++;
      this.reset();
      throw error instanceof ScriptError ? error : new ScriptError('throw', 'the script sandbox failed');
    } finally {
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

  private reset(): void {
    const live = this.live;
    this.live = null;
    if (live === null) return;
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
    try {
      // Setup and compilation (the admin's text parsed, any top-level code it smuggles in run) get their
      // own, larger budget: they run when the upstream loads or after a failed run, not per request.
      this.clock.start(performance.now(), Math.max(limits.timeoutMs, COMPILE_BUDGET_MS));
      installGlobals(context, this.opts.secrets, () => this.clock.overdue());
      const compiled = context.evalCode(`(function (request) {\n${this.source}\n})`, SCRIPT_FILE);
      if (compiled.error) {
        const dumped = context.dump(compiled.error);
        compiled.error.dispose();
        throw toScriptError(dumped, true, this.secretValues, this.engine.redactor);
      }
      const runner = context.unwrapResult(context.evalCode(RUNNER, 'runner'));
      const made = context.callFunction(runner, context.undefined, compiled.value);
      runner.dispose();
      compiled.value.dispose();
      return { runtime, context, run: context.unwrapResult(made) };
    } catch (error) {
      context.dispose();
      runtime.dispose();
      if (error instanceof ScriptError) throw error;
      throw new ScriptError('compile', 'the script sandbox could not be set up');
    }
  }
}
