// A cheaper crossing for the sandbox's host helpers (string arguments in, a
// string or undefined out). quickjs-emscripten-core's public path for a host
// function call wraps `this` and every argument in a handle object, runs the
// call through a generator (it supports async hosts) and a scope, and frees
// it all again: about 10 µs of a header-script run's ~20 µs in
// `npm run bench:header-script`. Here the context's C-to-host callback reads
// the argument strings straight from the Wasm heap and hands back a fresh
// QuickJS string, the same calls the public path makes underneath, minus the
// wrapping. It reaches into the library's internals (fields private in its
// types), so it is installed only when they look as expected; otherwise the
// helpers keep the public path, slower but the same. Any error on the fast
// path falls back to the public path too, which turns it into an exception
// inside the sandbox as before.

import type { QuickJSContext } from 'quickjs-emscripten-core';

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
  };
  memory: {
    module: {
      UTF8ToString(ptr: number): string;
      lengthBytesUTF8(str: string): number;
      stringToUTF8(str: string, ptr: number, max: number): void;
      _malloc(size: number): number;
      _free(ptr: number): void;
    };
  };
}

function internalsOf(context: QuickJSContext): ContextInternals | null {
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
    typeof m?.UTF8ToString === 'function' &&
    typeof m.lengthBytesUTF8 === 'function' &&
    typeof m.stringToUTF8 === 'function' &&
    typeof m._malloc === 'function' &&
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
      return mod.UTF8ToString(chars);
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
    const size = mod.lengthBytesUTF8(result) + 1;
    const chars = mod._malloc(size);
    if (chars === 0) return publicPath(ctx, thisPtr, argc, argv, fnId);
    try {
      mod.stringToUTF8(result, chars, size);
      return ffi.QTS_NewString(ctxPtr, chars);
    } finally {
      mod._free(chars);
    }
  };
  return true;
}
