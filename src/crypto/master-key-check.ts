import type { PrismaClient } from '../generated/prisma/client.ts';
import { DecryptError, type SecretCipher } from './cipher.ts';

const SETTING = 'master_key_check';
const PLAINTEXT = 'keyrelay master key check';

export class WrongMasterKeyError extends Error {
  constructor() {
    super('the master key does not match this database: set KEYRELAY_SECRET (or restore data/master.key) to the key the data was written with');
  }
}

/**
 * Stored keys are only readable with the key they were written with; a
 * ciphertext of a known text, written on first start, tells at boot whether
 * this is that key, instead of serving garbage later.
 */
export async function checkMasterKey(prisma: PrismaClient, cipher: SecretCipher): Promise<void> {
  const row = await prisma.setting.findUnique({ where: { key: SETTING } });
  if (!row) {
    await prisma.setting.create({ data: { key: SETTING, value: cipher.encrypt(PLAINTEXT) } });
    return;
  }
  try {
    if (cipher.decrypt(row.value) === PLAINTEXT) return;
  } catch (error) {
    if (!(error instanceof DecryptError)) throw error;
  }
  throw new WrongMasterKeyError();
}
