// Rate limits in exportConfig and importConfig (see rate-limit-document.ts).
// Import replaces the limits of every target the document names (MERGE) or
// all limits (REPLACE), inside the import's one transaction.

import type { AccessToken, PrismaClient, Upstream } from '../generated/prisma/client.ts';
import { NotFoundError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { limitColumns, rateLimitToDoc, type RateLimitDoc } from './rate-limit-document.ts';

type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];
type Resolve = (name: string | null | undefined, field: string) => Promise<string | null>;

export async function exportRateLimits(prisma: PrismaClient, upstreams: Upstream[], tokens: AccessToken[]): Promise<RateLimitDoc[]> {
  const rows = await prisma.rateLimit.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  const keyIds = rows.filter((r) => r.scope === 'KEY').map((r) => r.targetId);
  const keys = keyIds.length > 0 ? await prisma.apiKey.findMany({ where: { id: { in: keyIds } } }) : [];
  const targets = { upstreams: new Map(upstreams.map((u) => [u.id, u])), tokens: new Map(tokens.map((t) => [t.id, t])), keys: new Map(keys.map((k) => [k.id, k])) };
  return rows.map((r) => rateLimitToDoc(r, targets)).filter((d): d is RateLimitDoc => d !== null);
}

export async function importRateLimits(tx: Tx, docs: RateLimitDoc[], mode: 'MERGE' | 'REPLACE', resolve: Resolve, log: Logger) {
  const result = { created: 0, updated: 0, deleted: 0 };
  const kept: string[] = [];
  const cleared = new Set<string>();
  for (const [i, d] of docs.entries()) {
    const field = `json.rateLimits.${i}`;
    let targetId: string | null = null;
    if (d.scope === 'ACCESS_TOKEN') {
      targetId = (await tx.accessToken.findUnique({ where: { tokenHash: d.tokenHash! }, select: { id: true } }))?.id ?? null;
      if (targetId === null) throw new NotFoundError('no access token with that hash in the document or the database', `${field}.tokenHash`);
    } else {
      const upstreamId = await resolve(d.upstream, `${field}.upstream`);
      if (d.scope === 'UPSTREAM') targetId = upstreamId;
      else {
        targetId = (await tx.apiKey.findFirst({ where: { upstreamId: upstreamId!, fingerprint: d.keyFingerprint! }, select: { id: true } }))?.id ?? null;
        if (targetId === null) {
          log.warn({ upstream: d.upstream, keyFingerprint: d.keyFingerprint }, 'config import: key limit skipped, no such key here (import the keys, then the configuration again)');
          continue;
        }
      }
    }
    const target = `${d.scope}\u0000${targetId}`;
    if (mode === 'MERGE' && !cleared.has(target)) {
      cleared.add(target);
      result.deleted += (await tx.rateLimit.deleteMany({ where: { scope: d.scope, targetId: targetId! } })).count;
    }
    const row = await tx.rateLimit.create({ data: { scope: d.scope, targetId: targetId!, ...limitColumns(d) } });
    kept.push(row.id);
    result.created++;
  }
  if (mode === 'REPLACE') result.deleted += (await tx.rateLimit.deleteMany({ where: { id: { notIn: kept } } })).count;
  return result;
}
