import { z } from 'zod';
import { plainText } from '../text.ts';
import type { AccessToken, Rule, Upstream } from '../generated/prisma/client.ts';
import { parseJson } from '../db/json-column.ts';
import { toRuleDefinition, toUpstreamConfig } from '../state/map-rows.ts';
import type { RuleDefinition } from '../state/types.ts';
import { createUpstreamSchema } from './upstream-input.ts';
import { rateLimitDoc } from './rate-limit-document.ts';
import { channelDocSchema } from './channel-transfer.ts';

export const CONFIG_VERSION = 1;

const RULE_FIELDS = [
  'threshold', 'windowSeconds', 'consecutive', 'cooldownSeconds', 'disableMode', 'disableForSeconds',
  'escalate', 'maxDisableSeconds', 'scope', 'priority', 'enabled',
] as const;

// Rules and tokens point at upstreams by name, so a document moves between instances.
// Rule settings are checked by checkRule (the same validation as createRule), so here they pass through.
const ruleDoc = z
  .object({
    upstream: z.string().min(1).nullish(),
    name: plainText().trim().min(1).max(200),
    condition: z.unknown(),
    actions: z.array(z.string()),
  })
  .catchall(z.unknown());

const tokenDoc = z.object({
  name: plainText().trim().min(1).max(200),
  prefix: z.string().max(20).default(''),
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/, 'must be the token\'s SHA-256 in lower-case hex'),
  upstreams: z.array(z.string().min(1)).max(1000).default([]),
  enabled: z.boolean().default(true),
  revokedAt: z.iso.datetime({ offset: true }).nullish(),
});

function unique<T>(items: T[], keyOf: (item: T) => string, field: string, ctx: z.RefinementCtx, list: string) {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const key = keyOf(item);
    if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [list, i, field], message: 'appears twice in the document' });
    seen.add(key);
  });
}

export const configDocumentSchema = z
  .object({
    version: z.literal(CONFIG_VERSION),
    upstreams: z.array(createUpstreamSchema).max(10_000).default([]),
    rules: z.array(ruleDoc).max(100_000).default([]),
    accessTokens: z.array(tokenDoc).max(100_000).default([]),
    rateLimits: z.array(rateLimitDoc).max(100_000).default([]),
    notificationChannels: z.array(channelDocSchema).max(10_000).default([]),
  })
  .superRefine((doc, ctx) => {
    unique(doc.upstreams, (u) => u.name, 'name', ctx, 'upstreams');
    unique(doc.rules, (r) => `${r.upstream ?? ''}\u0000${r.name}`, 'name', ctx, 'rules');
    unique(doc.accessTokens, (t) => t.tokenHash, 'tokenHash', ctx, 'accessTokens');
    unique(doc.notificationChannels, (c) => c.name, 'name', ctx, 'notificationChannels');
  });

export type ConfigDocument = z.infer<typeof configDocumentSchema>;
export type RuleDoc = ConfigDocument['rules'][number];

/** A rule document entry as a definition (defaults filled in), for validation and storage. */
export function ruleFromDoc(doc: RuleDoc, defaults: Omit<RuleDefinition, 'id' | 'upstreamId' | 'name' | 'condition' | 'actions'>, upstreamId: string | null): RuleDefinition {
  const given = doc as Record<string, unknown>;
  const settings = Object.fromEntries(RULE_FIELDS.filter((f) => given[f] !== undefined && given[f] !== null).map((f) => [f, given[f]]));
  return { ...defaults, ...settings, id: 'import', upstreamId, name: doc.name, condition: doc.condition as RuleDefinition['condition'], actions: doc.actions as RuleDefinition['actions'] };
}

export function upstreamToDoc(row: Upstream): Record<string, unknown> {
  const { id: _id, authType, authName, ...config } = toUpstreamConfig(row);
  return { ...config, auth: { type: authType, name: authName } };
}

export function ruleToDoc(row: Rule, upstreamName: string | null) {
  const { id: _id, upstreamId: _u, ...def } = toRuleDefinition(row);
  return { upstream: upstreamName, ...def };
}

/**
 * Tokens travel as their SHA-256 hash: it cannot be turned back into the
 * token, and it is what lets a restored instance accept the clients' existing
 * tokens. The document is still sensitive (it lists every upstream's setup).
 */
export function tokenToDoc(row: AccessToken, nameOf: (id: string) => string | undefined) {
  return {
    name: row.name,
    prefix: row.prefix,
    tokenHash: row.tokenHash,
    upstreams: parseJson<string[]>(row.upstreamIds, []).map(nameOf).filter((n): n is string => !!n),
    enabled: row.enabled,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}
