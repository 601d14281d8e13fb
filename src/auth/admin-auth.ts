import type { PrismaClient } from '../generated/prisma/client.ts';
import { generateToken, sha256Hex, tokenMatchesHash } from '../crypto/tokens.ts';

const SETTING = 'admin_token_hash';

export interface AdminAuth {
  /** Timing-safe check of a presented admin token. */
  verify(presented: string | null | undefined): boolean;
}

/**
 * KEYRELAY_ADMIN_TOKEN when set; otherwise a token generated at first start,
 * of which only the hash is stored. Returns the generated token once so main
 * can print it; it is never logged.
 */
export async function setupAdminAuth(prisma: PrismaClient, configured: string | undefined): Promise<{ auth: AdminAuth; generated: string | null }> {
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
      await prisma.setting.create({ data: { key: SETTING, value: hash } });
    }
  }
  return { auth: { verify: (presented) => !!presented && tokenMatchesHash(presented, hash) }, generated };
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
