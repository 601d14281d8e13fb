// The only things a header script can reach beyond the language itself:
// `env` (its upstream's secrets, frozen) and four crypto helpers that run on
// the host with node:crypto. QuickJS without its libc module has no timers,
// files, network, `process` or `require` to begin with; nothing here adds one.

import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';

/** Longest string a helper accepts: the runtime's memory limit bounds scripts, this bounds host work per call. */
const MAX_HELPER_INPUT = 1024 * 1024;

// Compiled once per context; defines the globals read-only so a script cannot swap a helper for its next run.
const SETUP = `(function (envJson, helpers) {
  'use strict';
  const env = Object.freeze(JSON.parse(envJson));
  Object.defineProperty(globalThis, 'env', { value: env, enumerable: true });
  for (const name of Object.keys(helpers)) Object.defineProperty(globalThis, name, { value: helpers[name], enumerable: true });
})`;

function text(ctx: QuickJSContext, handle: QuickJSHandle | undefined, what: string, helper: string): string {
  if (handle === undefined || ctx.typeof(handle) !== 'string') throw new TypeError(`${helper}: ${what} must be a string`);
  const value = ctx.getString(handle);
  if (value.length > MAX_HELPER_INPUT) throw new RangeError(`${helper}: ${what} is longer than ${MAX_HELPER_INPUT} characters`);
  return value;
}

type Helper = (ctx: QuickJSContext, args: QuickJSHandle[]) => string;

const HELPERS: Record<string, Helper> = {
  hmacSha256Hex: (ctx, [k, m]) => createHmac('sha256', text(ctx, k, 'key', 'hmacSha256Hex')).update(text(ctx, m, 'message', 'hmacSha256Hex')).digest('hex'),
  hmacSha256Base64: (ctx, [k, m]) => createHmac('sha256', text(ctx, k, 'key', 'hmacSha256Base64')).update(text(ctx, m, 'message', 'hmacSha256Base64')).digest('base64'),
  sha256Hex: (ctx, [m]) => createHash('sha256').update(text(ctx, m, 'message', 'sha256Hex')).digest('hex'),
  randomUUID: () => randomUUID(),
};

/** Puts `env` and the helpers into a fresh context; throws (a host Error) if the setup itself fails. */
export function installGlobals(ctx: QuickJSContext, secrets: Readonly<Record<string, string>>): void {
  const helpers = ctx.newObject();
  try {
    for (const [name, fn] of Object.entries(HELPERS)) {
      const handle = ctx.newFunction(name, (...args) => ctx.newString(fn(ctx, args)));
      ctx.setProp(helpers, name, handle);
      handle.dispose();
    }
    const setup = ctx.unwrapResult(ctx.evalCode(SETUP, 'setup'));
    const envJson = ctx.newString(JSON.stringify(secrets));
    const done = ctx.callFunction(setup, ctx.undefined, envJson, helpers);
    envJson.dispose();
    setup.dispose();
    ctx.unwrapResult(done).dispose();
  } finally {
    helpers.dispose();
  }
}
