// Rate limits in the exportConfig/importConfig document. Targets travel by
// name, as rules and tokens do, so a document moves between instances: an
// upstream by name, a token by its hash, a key by its upstream and fingerprint.
// Key limits whose key is not on the importing instance (keys move through
// exportKeys, not this document) are skipped with a warning.

import { z } from 'zod';
import type { AccessToken, ApiKey, RateLimit, Upstream } from '../generated/prisma/client.ts';
import { checkLimitValues, limitFields } from './rate-limits.ts';

export const rateLimitDoc = z
  .object({
    scope: z.enum(['ACCESS_TOKEN', 'UPSTREAM', 'KEY']),
    upstream: z.string().min(1).nullish(),
    tokenHash: z.string().regex(/^[0-9a-f]{64}$/, 'must be the token\'s SHA-256 in lower-case hex').nullish(),
    keyFingerprint: z.string().min(1).nullish(),
    ...limitFields,
  })
  .superRefine((d, ctx) => {
    checkLimitValues(d, ctx);
    if (d.scope === 'ACCESS_TOKEN' && !d.tokenHash) ctx.addIssue({ code: 'custom', path: ['tokenHash'], message: 'is required for an ACCESS_TOKEN limit' });
    if (d.scope !== 'ACCESS_TOKEN' && !d.upstream) ctx.addIssue({ code: 'custom', path: ['upstream'], message: `is required for ${d.scope === 'KEY' ? 'a KEY' : 'an UPSTREAM'} limit` });
    if (d.scope === 'KEY' && !d.keyFingerprint) ctx.addIssue({ code: 'custom', path: ['keyFingerprint'], message: 'is required for a KEY limit' });
  });

export type RateLimitDoc = z.infer<typeof rateLimitDoc>;

export interface Targets {
  upstreams: Map<string, Upstream>;
  tokens: Map<string, AccessToken>;
  keys: Map<string, ApiKey>;
}

/** null when the target is gone (an orphan limit is not exported). */
export function rateLimitToDoc(row: RateLimit, t: Targets): RateLimitDoc | null {
  const limits = { requests: row.requests, perSeconds: row.perSeconds, concurrent: row.concurrent, tokensPerMinute: row.tokensPerMinute };
  if (row.scope === 'UPSTREAM') {
    const u = t.upstreams.get(row.targetId);
    return u ? { scope: 'UPSTREAM', upstream: u.name, ...limits } : null;
  }
  if (row.scope === 'ACCESS_TOKEN') {
    const token = t.tokens.get(row.targetId);
    return token ? { scope: 'ACCESS_TOKEN', tokenHash: token.tokenHash, ...limits } : null;
  }
  const key = t.keys.get(row.targetId);
  const u = key ? t.upstreams.get(key.upstreamId) : undefined;
  return key && u ? { scope: 'KEY', upstream: u.name, keyFingerprint: key.fingerprint, ...limits } : null;
}

export function limitColumns(d: RateLimitDoc) {
  return { requests: d.requests ?? null, perSeconds: d.perSeconds ?? null, concurrent: d.concurrent ?? null, tokensPerMinute: d.tokensPerMinute ?? null };
}
