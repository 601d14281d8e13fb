import type { PrismaClient } from '../generated/prisma/client.ts';
import { generateToken, sha256Hex, tokenMatchesHash } from '../crypto/tokens.ts';

const SETTING = 'admin_token_hash';

export interface AdminAuth {
  /** Timing-safe check of a presented admin token. */
  verify(presented: string | null | undefined): boolean;
}

/**
 * KEYRELAY_ADMIN_TOKEN when set; otherwise the stored hash, or a token
 * generated now. A generated token's hash is stored by `persist()`, which the
 * gateway calls once it is serving: if this start fails (a taken port), the
 * token was never shown as working and nothing is stored, so the next start
 * generates and prints a new one instead of locking the operator out.
 */
export async function setupAdminAuth(
  prisma: PrismaClient,
  configured: string | undefined,
): Promise<{ auth: AdminAuth; generated: string | null; persist: () => Promise<void> }> {
  let hash: string;
  let generated: string | null = null;
  if (configured) {
    hash = sha256Hex(configured);
  } else {
    const row = await prisma.setting.findUnique({ where: { key: SETTING } });
    if (row) {
      hash = row.value;
    } else {
      generated = generateToken('kra');
      hash = sha256Hex(generated);
    }
  }
  const persist = async () => {
    if (generated !== null) await prisma.setting.create({ data: { key: SETTING, value: hash } });
  };
  return { auth: { verify: (presented) => !!presented && tokenMatchesHash(presented, hash) }, generated, persist };
}

/** The token from `Authorization: Bearer …`, or null. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}

/**
 * A new generated admin token, its hash stored in place of the old one (for
 * `keyrelay admin-token reset`, run while the gateway is stopped: a running
 * gateway keeps the hash it read at start). Returns the token; only its hash is kept.
 */
export async function resetAdminToken(prisma: PrismaClient): Promise<string> {
  const token = generateToken('kra');
  const value = sha256Hex(token);
  await prisma.setting.upsert({ where: { key: SETTING }, create: { key: SETTING, value }, update: { value } });
  return token;
}
