import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MasterKeySource {
  key: Buffer;
  /** Where it came from, for the start-up log; never the value. */
  origin: 'env' | 'file' | 'generated';
  file?: string;
}

const KEY_FILE = 'master.key';

/**
 * KEYRELAY_SECRET wins; otherwise a key file in the data directory, created
 * (mode 0600) on first start. Any secret string is stretched to 32 bytes with
 * HKDF so operators can use a passphrase or `openssl rand -base64 32` alike.
 */
export function loadMasterKey(secret: string | undefined, dataDir: string): MasterKeySource {
  if (secret) return { key: derive(secret), origin: 'env' };
  const file = join(dataDir, KEY_FILE);
  if (existsSync(file)) return { key: derive(readFileSync(file, 'utf8').trim()), origin: 'file', file };
  mkdirSync(dataDir, { recursive: true });
  const generated = randomBytes(32).toString('base64');
  writeFileSync(file, generated + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { key: derive(generated), origin: 'generated', file };
}

function derive(secret: string): Buffer {
  const salt = createHash('sha256').update('keyrelay master key v1').digest();
  return Buffer.from(hkdfSync('sha256', secret, salt, 'keyrelay secrets', 32));
}
