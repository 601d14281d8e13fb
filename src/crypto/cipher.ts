import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

// v1 = AES-256-GCM, 12-byte random nonce, 16-byte tag: "v1:" + base64(nonce | tag | ciphertext).
// The prefix lets a later format (or a rotated master key) live beside this one.
const VERSION = 'v1:';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export class DecryptError extends Error {
  constructor() {
    super('cannot decrypt: wrong master key or tampered data');
  }
}

export interface SecretCipher {
  encrypt(plaintext: string): string;
  decrypt(stored: string): string;
  /** A keyed hash for duplicate detection that reveals nothing without the master key. */
  hash(plaintext: string): string;
}

export function createCipher(masterKey: Buffer): SecretCipher {
  if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
  return {
    encrypt(plaintext) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', masterKey, nonce);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return VERSION + Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64');
    },
    decrypt(stored) {
      if (!stored.startsWith(VERSION)) throw new DecryptError();
      const raw = Buffer.from(stored.slice(VERSION.length), 'base64');
      if (raw.length < NONCE_BYTES + TAG_BYTES) throw new DecryptError();
      try {
        const decipher = createDecipheriv('aes-256-gcm', masterKey, raw.subarray(0, NONCE_BYTES));
        decipher.setAuthTag(raw.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
        return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new DecryptError();
      }
    },
    hash(plaintext) {
      return createHmac('sha256', masterKey).update(plaintext).digest('hex');
    },
  };
}

/** The display form of a secret: its prefix hidden, the last 4 characters shown. */
export function fingerprintOf(secret: string): string {
  return secret.length <= 8 ? '…' + secret.slice(-2) : '…' + secret.slice(-4);
}
