// Seeded random request bodies and headers for the fuzz suite: random bytes,
// deep nesting, huge numbers, invalid UTF-8, NUL, and ordinary JSON around
// them, so a failure reproduces from its seed.

import { seededRandom } from '../../support/seeded-random.ts';

export type Rng = () => number;

/** Seeded, so a failing fuzz case can be replayed. */
export const rng: (seed: number) => Rng = seededRandom;

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)];

function randomBytes(r: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

function deepJson(r: Rng): string {
  const depth = 1 + int(r, 600);
  const open = Array.from({ length: depth }, () => (r() < 0.5 ? '[' : '{"a":')).join('');
  const close = open.replace(/\{"a":/g, '}').replace(/\[/g, ']').split('').reverse().join('');
  return `${open}{"error":{"code":"x"}}${close}`;
}

function hugeNumbers(r: Rng): string {
  const digits = '9'.repeat(1 + int(r, 400));
  return JSON.stringify({ a: [{ b: 1 }], big: 0 }).replace('0}', `${digits}${pick(r, ['', 'e999999', '.5e-99999', '1'])}}`);
}

function invalidUtf8(r: Rng): Buffer {
  const parts = [Buffer.from('{"error":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x90, 0x28, 0xbc]), randomBytes(r, int(r, 32)), Buffer.from('"}')];
  return Buffer.concat(parts);
}

function withNul(r: Rng): Buffer {
  return Buffer.from(pick(r, ['{"error":{"code":"a\u0000b"},"x":"\u0000"}', 'plain\u0000text\u0000', '\u0000', `{"a":[{"b":1}],"n":"${'\u0000'.repeat(1 + int(r, 50))}"}`]), 'utf8');
}

function ordinary(r: Rng): string {
  return JSON.stringify({ model: pick(r, ['m1', 'm2', 'gpt-x']), a: [{ b: int(r, 3) }], error: r() < 0.3 ? { code: pick(r, ['rate_limited', 'x']) } : null, s: 'aaaab'.repeat(int(r, 20)) + 'c' });
}

/** One random body (at most a few KB). */
export function randomBody(r: Rng): Buffer {
  switch (int(r, 6)) {
    case 0: return randomBytes(r, int(r, 4096));
    case 1: return Buffer.from(deepJson(r));
    case 2: return Buffer.from(hugeNumbers(r));
    case 3: return invalidUtf8(r);
    case 4: return withNul(r);
    default: return Buffer.from(ordinary(r));
  }
}

const TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789-_';

/** A few random headers a client could send (valid on the wire: no CR, LF or NUL). */
export function randomHeaders(r: Rng): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = int(r, 5); i > 0; i--) {
    const name = 'x-' + Array.from({ length: 1 + int(r, 12) }, () => pick(r, TOKEN_CHARS.split(''))).join('');
    let value = '';
    for (let j = int(r, 200); j > 0; j--) {
      const c = int(r, 256);
      value += c === 9 || (c >= 0x20 && c !== 0x7f) ? String.fromCharCode(c) : ' ';
    }
    out[name] = value.trim();
  }
  if (r() < 0.3) out['content-type'] = pick(r, ['application/json', 'text/plain', 'application/octet-stream', 'text/event-stream']);
  if (r() < 0.2) out['accept-encoding'] = pick(r, ['gzip', 'br', 'identity', '*']);
  return out;
}
