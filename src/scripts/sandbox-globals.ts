// The only things a header script can reach beyond the language itself:
// `env` (its upstream's secrets, frozen) and four crypto helpers that run on
// the host with node:crypto. QuickJS without its libc module has no timers,
// files, network, `process` or `require` to begin with; nothing here adds one.

import { createHmac, createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import { sha256Hex } from '../crypto/tokens.ts';
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import { installFastHostCalls, type StringHelper } from './fast-host-call.ts';

/**
 * Longest string a helper accepts. QuickJS checks its time limit every so
 * many interpreter steps, and a helper call is one step however long the host
 * works on it: this bounds one call's host work (a hash of 256 KiB, about a
 * millisecond), and helpers refuse to run at all once a run is overdue.
 */
const MAX_HELPER_INPUT = 256 * 1024;

/** The helpers a script sees, with their string parameters (checked in the sandbox before the host is asked). */
const HELPER_PARAMS = {
  hmacSha256Hex: ['key', 'message'],
  hmacSha256Base64: ['key', 'message'],
  sha256Hex: ['message'],
  randomUUID: [],
} as const satisfies Readonly<Record<string, readonly string[]>>;

/** The compiler keeps the host side's helpers the same set as HELPER_PARAMS. */
type HelperName = keyof typeof HELPER_PARAMS;

// One helper's sandbox side. The checks are written out in each helper: a
// call per argument costs QuickJS more than the check itself. The host
// answers undefined once the run is overdue. Spinning here then reaches
// QuickJS's next interrupt check within microseconds, and that interrupt
// cannot be caught; a host error could be, and a script catching it in a
// loop would make a check thousands of slow host calls away.
function helperSource(name: string, params: readonly string[]): string {
  const checks = params.map((p) => `if (typeof ${p} !== 'string' || ${p}.length > MAX) refuse('${name}', '${p}', ${p});`);
  return `${name}: (${params.join(', ')}) => {
      ${checks.join('\n      ')}
      const value = host.${name}(${params.join(', ')});
      if (value === undefined) for (;;) {}
      return value;
    },`;
}

// Compiled once per context. The host functions get their arguments checked
// here, inside the sandbox, where a typeof costs nothing (asking the host
// side for a handle's type costs a round trip per argument); the globals are
// read-only so a script cannot swap a helper for its next run.
const SETUP = `(function (envJson, host) {
  'use strict';
  const MAX = ${MAX_HELPER_INPUT};
  const refuse = (helper, what, value) => {
    throw typeof value !== 'string'
      ? new TypeError(helper + ': ' + what + ' must be a string')
      : new RangeError(helper + ': ' + what + ' is longer than ' + MAX + ' characters');
  };
  const helpers = {
    ${Object.entries(HELPER_PARAMS)
      .map(([name, params]) => helperSource(name, params))
      .join('\n    ')}
  };
  Object.defineProperty(globalThis, 'env', { value: Object.freeze(JSON.parse(envJson)), enumerable: true });
  for (const name of Object.keys(helpers)) Object.defineProperty(globalThis, name, { value: helpers[name], enumerable: true });
})`;

// HMAC keys are a few script secrets used on every request: their KeyObjects are kept (per context, bounded).
const MAX_CACHED_KEYS = 64;

/** undefined: the run is overdue (see SETUP). */
type Helper = StringHelper;

function hostHelpers(overdue: () => boolean): Record<HelperName, Helper> {
  const keys = new Map<string, KeyObject>();
  const keyOf = (secret: string): KeyObject => {
    let key = keys.get(secret);
    if (key === undefined) {
      if (keys.size >= MAX_CACHED_KEYS) keys.clear();
      keys.set(secret, (key = createSecretKey(Buffer.from(secret, 'utf8'))));
    }
    return key;
  };
  const helpers: Record<HelperName, Helper> = {
    hmacSha256Hex: ([k, m]) => createHmac('sha256', keyOf(k)).update(m).digest('hex'),
    hmacSha256Base64: ([k, m]) => createHmac('sha256', keyOf(k)).update(m).digest('base64'),
    sha256Hex: ([m]) => sha256Hex(m),
    randomUUID: () => randomUUID(),
  };
  for (const [name, fn] of Object.entries(helpers)) {
    helpers[name as HelperName] = (args) => {
      return overdue() ? undefined : fn(args);
    };
  }
  return helpers;
}

/**
 * Puts `env` and the helpers into a fresh context; throws (a host Error) if
 * the setup itself fails. `overdue` says the current run is past its limit.
 * Returns `requestPart` as a host function for the runner (the caller disposes it).
 */
export function installGlobals(ctx: QuickJSContext, secrets: Readonly<Record<string, string>>, overdue: () => boolean, requestPart: StringHelper): QuickJSHandle {
  const host = ctx.newObject();
  let part: QuickJSHandle | null = null;
  try {
    const fast = new Map<unknown, StringHelper>();
    for (const [name, fn] of Object.entries({ ...hostHelpers(overdue), requestPart })) {
      // Arguments are strings here (SETUP checked them).
      const publicPath = (...args: QuickJSHandle[]) => {
        const result = fn(args.map((a) => ctx.getString(a)));
        return result === undefined ? ctx.undefined : ctx.newString(result);
      };
      fast.set(publicPath, fn);
      const handle = ctx.newFunction(name, publicPath);
      // Not a global: only the runner gets it (header-script.ts).
      if (name === 'requestPart') {
        part = handle;
        continue;
      }
      ctx.setProp(host, name, handle);
      handle.dispose();
    }
    installFastHostCalls(ctx, fast);
    const setup = ctx.unwrapResult(ctx.evalCode(SETUP, 'setup'));
    const envJson = ctx.newString(JSON.stringify(secrets));
    const done = ctx.callFunction(setup, ctx.undefined, envJson, host);
    envJson.dispose();
    setup.dispose();
    ctx.unwrapResult(done).dispose();
    return part!;
  } catch (error) {
    part?.dispose();
    throw error;
  } finally {
    host.dispose();
  }
}
