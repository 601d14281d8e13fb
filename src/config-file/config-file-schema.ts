// What a config file may hold beyond exportConfig's document: API keys (their
// values only as environment references) and access tokens given as the token
// itself (again only by reference), which become the document's tokenHash.

import { z } from 'zod';
import { sha256Hex } from '../crypto/tokens.ts';
import { keyValue } from '../admin/keys.ts';
import { upstreamFields } from '../admin/upstream-input.ts';
import { RULE_DEFAULTS } from '../admin/rules.ts';
import { limitFields } from '../admin/rate-limits.ts';
import { CHANNEL_DOC_FIELDS } from '../admin/channel-transfer.ts';

export interface Problem {
  path: Array<string | number>;
  message: string;
}

export const keyDocSchema = z.strictObject({
  upstream: z.string().min(1),
  value: keyValue,
  name: z.string().trim().min(1).max(200).nullish(),
  weight: z.number().int().min(0).max(1_000_000).nullish(),
  quota: z.number().int().min(0).nullish(),
});
export const keyDocsSchema = z.array(keyDocSchema).max(100_000);
export type KeyDoc = z.infer<typeof keyDocSchema>;

const TOP_LEVEL = new Set(['version', 'exportedAt', 'upstreams', 'rules', 'accessTokens', 'rateLimits', 'notificationChannels', 'keys']);
const UPSTREAM_FIELDS = new Set(Object.keys(upstreamFields));
const RULE_FIELDS = new Set(['upstream', 'name', 'condition', 'actions', ...Object.keys(RULE_DEFAULTS)]);
const TOKEN_FIELDS = new Set(['name', 'prefix', 'tokenHash', 'token', 'upstreams', 'enabled', 'revokedAt']);
const RATE_LIMIT_FIELDS = new Set(['scope', 'upstream', 'tokenHash', 'keyFingerprint', ...Object.keys(limitFields)]);
const CHANNEL_FIELDS = new Set(CHANNEL_DOC_FIELDS);
const REF = /\$\{[A-Za-z_][A-Za-z0-9_]*\}/;

const entries = (value: unknown): Array<[number, Record<string, unknown>]> =>
  Array.isArray(value) ? value.flatMap((v, i) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? [[i, v as Record<string, unknown>] as [number, Record<string, unknown>]] : [])) : [];

/**
 * Checks the zod schemas leave to chance: unknown fields (a misspelt setting
 * would otherwise be dropped without a word) and secrets written into the file.
 * Reads the file as written, before references are resolved.
 */
export function checkAsWritten(raw: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const unknown = (path: Array<string | number>, obj: Record<string, unknown>, allowed: Set<string>) => {
    for (const field of Object.keys(obj)) if (!allowed.has(field)) problems.push({ path: [...path, field], message: 'is not a known field' });
  };
  unknown([], raw, TOP_LEVEL);
  for (const [i, u] of entries(raw.upstreams)) unknown(['upstreams', i], u, UPSTREAM_FIELDS);
  for (const [i, r] of entries(raw.rules)) unknown(['rules', i], r, RULE_FIELDS);
  for (const [i, l] of entries(raw.rateLimits)) unknown(['rateLimits', i], l, RATE_LIMIT_FIELDS);
  for (const [i, t] of entries(raw.accessTokens)) {
    unknown(['accessTokens', i], t, TOKEN_FIELDS);
    if (t.token !== undefined && !(typeof t.token === 'string' && REF.test(t.token))) {
      problems.push({ path: ['accessTokens', i, 'token'], message: 'give the token as an environment reference such as ${APP_TOKEN}: the file must not hold secrets' });
    }
    if (t.token !== undefined && t.tokenHash !== undefined) problems.push({ path: ['accessTokens', i, 'token'], message: 'give token or tokenHash, not both' });
  }
  for (const [i, c] of entries(raw.notificationChannels)) {
    unknown(['notificationChannels', i], c, CHANNEL_FIELDS);
    // null is an export's mark for a secret left out: the stored one is kept.
    if (c.secret !== undefined && c.secret !== null && !(typeof c.secret === 'string' && REF.test(c.secret))) {
      problems.push({ path: ['notificationChannels', i, 'secret'], message: 'give the webhook secret as an environment reference such as ${ALERTS_WEBHOOK_SECRET}: the file must not hold secrets' });
    }
  }
  for (const [i, k] of entries(raw.keys)) {
    if (typeof k.value === 'string' && !REF.test(k.value)) {
      problems.push({ path: ['keys', i, 'value'], message: 'give the key as an environment reference such as ${OPENAI_KEY_1}: the file must not hold secrets' });
    }
  }
  return problems;
}

/** Access tokens given as `token` get the tokenHash (and prefix) exportConfig would show. */
export function hashGivenTokens(doc: Record<string, unknown>): void {
  for (const [, t] of entries(doc.accessTokens)) {
    if (typeof t.token !== 'string') continue;
    t.tokenHash = sha256Hex(t.token);
    t.prefix ??= t.token.slice(0, 7);
    delete t.token;
  }
}
