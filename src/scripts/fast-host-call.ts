// A cheaper crossing for the sandbox's host helpers (string arguments in, a
// string or undefined out). quickjs-emscripten-core's public path for a host
// function call wraps `this` and every argument in a handle object, runs the
// call through a generator (it supports async hosts) and a scope, and frees
// it all again: about 10 µs per call (the README's signing script went from
// 38.8 to 28.6 µs of CPU per run in-process when its one hmacSha256Hex call
// took this path). Here the context's C-to-host callback reads
// the argument strings straight from the Wasm heap and hands back a fresh
// QuickJS string, the same calls the public path makes underneath, minus the
// wrapping. It reaches into the library's internals (fields private in its
// types), so it is installed only when they look as expected; otherwise the
// helpers keep the public path, slower but the same. Any error on the fast
// path falls back to the public path too, which turns it into an exception
// inside the sandbox as before.

import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';

/** The host side of a helper: strings in (checked inside the sandbox), a string out, or undefined. */
export type StringHelper = (args: string[]) => string | undefined;

type HostCall = (ctx: number, thisPtr: number, argc: number, argv: number, fnId: number) => number;

interface ContextInternals {
  cToHostCallbacks: { callFunction: HostCall };
  ctx: { value: number };
  getFunction(fnId: number): unknown;
  ffi: {
    QTS_ArgvGetJSValueConstPointer(argv: number, index: number): number;
    QTS_GetString(ctx: number, value: number): number;
    QTS_FreeCString(ctx: number, str: number): void;
    QTS_NewString(ctx: number, str: number): number;
    QTS_Call(ctx: number, fn: number, thisVal: number, argc: number, argv: number): number;
    QTS_ResolveException(ctx: number, value: number): number;
    QTS_FreeValuePointer(ctx: number, value: number): void;
  };
  memory: {
    module: {
      _malloc(size: number): number;
      _free(ptr: number): void;
      HEAPU8: Uint8Array;
    };
    heapValueHandle(ptr: number): QuickJSHandle;
  };
}

let fastPathAllowed = true;

/**
 * Whether new sandboxes may take the fast path. Only the tests turn it off,
 * to run the public path a library with other internals would take.
 */
export function allowFastPath(allowed: boolean): void {
  fastPathAllowed = allowed;
}

function internalsOf(context: QuickJSContext): ContextInternals | null {
  if (!fastPathAllowed) return null;
  const c = context as unknown as Partial<ContextInternals>;
  const m = c.memory?.module;
  const ffi = c.ffi;
  const ok =
    typeof c.cToHostCallbacks?.callFunction === 'function' &&
    typeof c.ctx?.value === 'number' &&
    typeof c.getFunction === 'function' &&
    typeof ffi?.QTS_ArgvGetJSValueConstPointer === 'function' &&
    typeof ffi.QTS_GetString === 'function' &&
    typeof ffi.QTS_FreeCString === 'function' &&
    typeof ffi.QTS_NewString === 'function' &&
    typeof ffi.QTS_Call === 'function' &&
    typeof ffi.QTS_ResolveException === 'function' &&
    typeof ffi.QTS_FreeValuePointer === 'function' &&
    typeof c.memory?.heapValueHandle === 'function' &&
    m?.HEAPU8 instanceof Uint8Array &&
    typeof m?._malloc === 'function' &&
    typeof m._free === 'function';
  return ok ? (c as ContextInternals) : null;
}

/**
 * Routes calls of the given host functions (as made by `context.newFunction`)
 * to their string helpers directly. Returns false (and changes nothing) when
 * the library's internals are not as expected.
 */
export function installFastHostCalls(context: QuickJSContext, helpers: ReadonlyMap<unknown, StringHelper>): boolean {
  const c = internalsOf(context);
  if (c === null) return false;
  const { ffi } = c;
  const mod = c.memory.module;
  const ctxPtr = c.ctx.value;
  const callbacks = c.cToHostCallbacks;
  const publicPath = callbacks.callFunction;
  const readString = (argv: number, i: number): string => {
    const chars = ffi.QTS_GetString(ctxPtr, ffi.QTS_ArgvGetJSValueConstPointer(argv, i));
    if (chars === 0) throw new Error('not a string');
    try {
      return readCString(mod, chars);
    } finally {
      ffi.QTS_FreeCString(ctxPtr, chars);
    }
  };
  callbacks.callFunction = (ctx, thisPtr, argc, argv, fnId) => {
    const helper = ctx === ctxPtr ? helpers.get(c.getFunction(fnId)) : undefined;
    if (helper === undefined) return publicPath(ctx, thisPtr, argc, argv, fnId);
    let result: string | undefined;
    try {
      const args = new Array<string>(argc);
      for (let i = 0; i < argc; i++) args[i] = readString(argv, i);
      result = helper(args);
    } catch {
      return publicPath(ctx, thisPtr, argc, argv, fnId);
    }
    // NULL is undefined to QuickJS; a returned JSValue pointer becomes QuickJS's to free.
    if (result === undefined) return 0;
    const value = newString(c, result);
    return value === 0 ? publicPath(ctx, thisPtr, argc, argv, fnId) : value;
  };
  return true;
}

// Strings cross as UTF-8 in the Wasm heap. Emscripten's own helpers encode
// and decode in JavaScript loops (and a TextDecoder per read); a Buffer over the
// heap does both natively, about a microsecond less per run. A lone surrogate
// (possible in a model name) becomes U+FFFD either way.
const heapViews = new WeakMap<ArrayBufferLike, Buffer>();

/** A Buffer over the module's current heap (a grown memory replaces the ArrayBuffer). */
function heapOf(mod: ContextInternals['memory']['module']): Buffer {
  const buffer = mod.HEAPU8.buffer;
  let view = heapViews.get(buffer);
  if (view === undefined) heapViews.set(buffer, (view = Buffer.from(buffer as ArrayBuffer)));
  return view;
}

/** The NUL-terminated UTF-8 string at `ptr`. */
function readCString(mod: ContextInternals['memory']['module'], ptr: number): string {
  const heap = heapOf(mod);
  const end = heap.indexOf(0, ptr);
  return heap.toString('utf8', ptr, end === -1 ? heap.length : end);
}

/** A fresh QuickJS string (a JSValue pointer the caller owns), or 0 when the Wasm heap has no room for the bytes. */
function newString(c: ContextInternals, text: string): number {
  const mod = c.memory.module;
  const size = Buffer.byteLength(text, 'utf8') + 1;
  const chars = mod._malloc(size);
  if (chars === 0) return 0;
  try {
    // After the malloc, which may have grown (and so replaced) the heap.
    const heap = heapOf(mod);
    heap.write(text, chars, size - 1, 'utf8');
    heap[chars + size - 1] = 0;
    return c.ffi.QTS_NewString(c.ctx.value, chars);
  } finally {
    mod._free(chars);
  }
}

/** A call of one sandbox function with one string argument, returning a string, without handle objects per call. */
export interface FastCall {
  /** The function's string result, or its exception as a handle (the caller disposes it). */
  call(input: string): string | { error: QuickJSHandle };
  dispose(): void;
}

/**
 * The same as `context.callFunction(fn, undefined, newString(input))` and
 * `getString` on the result (which must be a string), minus the handle
 * objects and the argument array allocated per call. null when the library's
 * internals are not as expected (the caller keeps the public path). `fn` must
 * outlive the FastCall.
 */
export function fastCall(context: QuickJSContext, fn: QuickJSHandle): FastCall | null {
  const c = internalsOf(context);
  if (c === null) return null;
  const { ffi } = c;
  const mod = c.memory.module;
  const ctxPtr = c.ctx.value;
  const undefinedPtr = context.undefined.value as unknown as number;
  const fnPtr = fn.value as unknown as number;
  let argv = mod._malloc(4);
  if (argv === 0) return null;
  return {
    call(input) {
      const arg = newString(c, input);
      if (arg === 0) throw new Error('the sandbox heap is full');
      // Little-endian Wasm memory, read afresh since a grown memory replaces it.
      heapOf(mod).writeUInt32LE(arg, argv);
      const result = ffi.QTS_Call(ctxPtr, fnPtr, undefinedPtr, 1, argv);
      ffi.QTS_FreeValuePointer(ctxPtr, arg);
      const error = ffi.QTS_ResolveException(ctxPtr, result);
      if (error !== 0) {
        ffi.QTS_FreeValuePointer(ctxPtr, result);
        return { error: c.memory.heapValueHandle(error) };
      }
      const chars = ffi.QTS_GetString(ctxPtr, result);
      ffi.QTS_FreeValuePointer(ctxPtr, result);
      if (chars === 0) throw new Error('the sandbox returned no string');
      try {
        return readCString(mod, chars);
      } finally {
        ffi.QTS_FreeCString(ctxPtr, chars);
      }
    },
    dispose() {
      if (argv !== 0) mod._free(argv);
      argv = 0;
    },
  };
}
