import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
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
