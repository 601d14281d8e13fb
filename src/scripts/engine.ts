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
  // The variant's .d.ts is CommonJS-shaped; under ESM its default export is the variant itself.
  modulePromise ??= newQuickJSWASMModuleFromVariant(releaseSync as unknown as QuickJSSyncVariant);
  return new ScriptEngine(await modulePromise, {
    timeoutMs: limits.timeoutMs ?? 20,
    memoryBytes: limits.memoryBytes ?? 8 * 1024 * 1024,
    stackBytes: limits.stackBytes ?? DEFAULT_STACK_BYTES,
  });
}
