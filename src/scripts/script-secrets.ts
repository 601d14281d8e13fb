// `scriptSecrets`: a write-only map of name to value that a header script
// reads as `env`. Stored as one ciphertext of its JSON with the key cipher
// (src/crypto/), decrypted only into the sandbox and the save-time check;
// never returned by the API, exported or logged (only the names are shown).

import { z } from 'zod';
import type { SecretCipher } from '../crypto/cipher.ts';

export const scriptSecretsSchema = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'use 1-64 letters, digits or _, not starting with a digit'), z.string().max(4096))
  .refine((m) => Object.keys(m).length <= 32, 'at most 32 secrets');

export type ScriptSecrets = Record<string, string>;

export function readScriptSecrets(stored: string | null, cipher: SecretCipher): ScriptSecrets {
  if (stored === null || stored === '') return {};
  return JSON.parse(cipher.decrypt(stored)) as ScriptSecrets;
}

/** The column value for a given map: null clears, an empty map clears too. */
export function storeScriptSecrets(secrets: ScriptSecrets | null, cipher: SecretCipher): string | null {
  if (secrets === null || Object.keys(secrets).length === 0) return null;
  return cipher.encrypt(JSON.stringify(secrets));
}

/** Names only, for the API. */
export function scriptSecretNames(stored: string | null, cipher: SecretCipher): string[] {
  try {
    return Object.keys(readScriptSecrets(stored, cipher)).sort();
  } catch {
    return [];
  }
}
