import { createHash, hash, randomBytes, timingSafeEqual, type BinaryLike } from 'node:crypto';

/** SHA-256 as hex. The one-shot hash costs a third of a Hash object's for short inputs (0.3 against 1 µs): it runs per scripted request. */
export function sha256Hex(value: BinaryLike): string {
  return hash('sha256', value, 'hex');
}

/** A new client or admin token: a recognisable prefix and 32 random bytes. */
export function generateToken(prefix: 'kr' | 'kra'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Compares a presented token with a stored SHA-256 hex digest in constant time. */
export function tokenMatchesHash(presented: string, storedHashHex: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = Buffer.from(storedHashHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
