// The QuickJS (Wasm, synchronous build) engine behind header scripts: loaded
// once per process, then one runtime and context per scripted upstream
// (header-script.ts). QuickJS is a separate interpreter with its own heap
// inside a Wasm instance: scripts see only what sandbox-globals.ts puts in,
// unlike node:vm, whose contexts share the host's engine and leak through
// prototypes.

import releaseSync from '@jitl/quickjs-wasmfile-release-sync';
import { newQuickJSWASMModuleFromVariant, type QuickJSSyncVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import { createRedactor, type Redactor } from '../logs/redact.ts';
import { HeaderScript, type HeaderScriptOptions } from './header-script.ts';
import { scriptRequestBase, scriptRequestJson } from './script-request.ts';

export interface ScriptLimits {
  /** Wall time per run, enforced by the interrupt handler. */
  timeoutMs: number;
  /** Heap of one upstream's runtime. */
  memoryBytes: number;
  /** Interpreter stack of one runtime (deep recursion fails with "stack overflow"). */
  stackBytes: number;
}

/** Counted per upstream name, read by /metrics at scrape time. */
export interface ScriptStats {
  runs: number;
  failures: number;
  seconds: number;
}

export const DEFAULT_STACK_BYTES = 256 * 1024;

// The Wasm module holds no script state (each runtime has its own heap), so one load serves every gateway in the process.
let modulePromise: Promise<QuickJSWASMModule> | null = null;

// V8 compiles Wasm functions on their first call: the interpreter's first
// runs take tens of milliseconds, more than a script's time limit. One
// untimed run through the common paths (parser, JSON, strings, regexes,
// arrays, errors, the GC) when the module loads keeps that out of the limit.
const WARM_UP = `(function () {
  const o = JSON.parse(JSON.stringify({ a: [1, 2.5, 'x'], b: { c: true, d: null } }));
  const s = ('Hello ' + o.a.join(',')).toUpperCase().replace(/L+/g, (m) => m.toLowerCase()).split(' ').map((w) => w.trim()).reverse().join('-');
  const r = [...new Set([3, 1, 2])].sort((x, y) => x - y).filter(Boolean).reduce((x, y) => x + y, 0);
  let caught = '';
  try { null.x; } catch (e) { caught = String(e) + e.stack; }
  const d = new Date(0).toISOString() + Math.floor(Math.random() * 10) + encodeURIComponent('a b') + String.fromCharCode(65) + s.padStart(30, '.');
  const t = new Uint8Array(16).map((_, i) => i * 7); const m = new Map([[1, 2]]); class K { #p = 1; get v() { return this.#p; } }
  return JSON.stringify([o, s, r, caught, d, Array.from(t), [...m], new K().v, Object.keys(o), Object.entries(o.b), parseInt('42', 10), (1.5).toFixed(2)]);
})()`;

/** The host side too: helper calls, argument and result crossings, a failed run and its reset. */
function warmHostCalls(module: QuickJSWASMModule): QuickJSWASMModule {
  const engine = new ScriptEngine(module, { timeoutMs: 10_000, memoryBytes: 8 * 1024 * 1024, stackBytes: DEFAULT_STACK_BYTES });
  const script = engine.compile(
    `if (request.attempt > 1) throw new Error('again');
return { a: hmacSha256Hex(env.K, request.path), b: hmacSha256Base64(env.K, request.method), c: sha256Hex(JSON.stringify(request.headers)), d: randomUUID() };`,
    { upstream: 'warm-up', secrets: { K: 'warm-up-key' }, canReadKey: false },
  );
  const base = scriptRequestBase({ method: 'GET', upstreamPath: '/?q=1', rawHeaders: ['a', 'b'], body: null, model: null, upstream: 'warm-up' });
  const packed = (attempt: number) => scriptRequestJson(base, { name: 'k', fingerprint: 'f', secret: 'warm-up' }, attempt, 0, false);
  for (let i = 0; i < 3; i++) script.run(packed(1), null, false);
  try {
    script.run(packed(2), null, false);
  } catch {
    // expected: exercises the error path
  }
  script.run(packed(1), null, false);
  script.dispose();
  return module;
}

async function loadModule(): Promise<QuickJSWASMModule> {
  // The variant's .d.ts is CommonJS-shaped; under ESM its default export is the variant itself.
  const module = await newQuickJSWASMModuleFromVariant(releaseSync as unknown as QuickJSSyncVariant);
  const runtime = module.newRuntime();
  const context = runtime.newContext();
  context.unwrapResult(context.evalCode(WARM_UP, 'warm-up')).dispose();
  context.dispose();
  runtime.dispose();
  return module;
}

export class ScriptEngine {
  readonly stats = new Map<string, ScriptStats>();
  readonly redactor: Redactor = createRedactor();

  constructor(readonly module: QuickJSWASMModule, readonly limits: ScriptLimits) {}

  /** A ready script; throws ScriptError when it does not compile. */
  compile(source: string, opts: HeaderScriptOptions): HeaderScript {
    return new HeaderScript(this, source, opts);
  }

  statsFor(upstream: string): ScriptStats {
    let stats = this.stats.get(upstream);
    if (stats === undefined) this.stats.set(upstream, (stats = { runs: 0, failures: 0, seconds: 0 }));
    return stats;
  }
}

export async function loadScriptEngine(limits: Partial<ScriptLimits> = {}): Promise<ScriptEngine> {
  modulePromise ??= loadModule().then(warmHostCalls);
  return new ScriptEngine(await modulePromise, {
    timeoutMs: limits.timeoutMs ?? 20,
    memoryBytes: limits.memoryBytes ?? 8 * 1024 * 1024,
    stackBytes: limits.stackBytes ?? DEFAULT_STACK_BYTES,
  });
}
