import type { AdminDeps } from './deps.ts';
import { NotFoundError, UserInputError } from '../errors.ts';
import { CONFIG_VERSION, configDocumentSchema, ruleFromDoc, ruleToDoc, tokenToDoc, upstreamToDoc, type ConfigDocument } from './config-document.ts';
import { checkRule, RULE_DEFAULTS } from './rules.ts';
import { upstreamColumns, upstreamNameKey } from './upstream-input.ts';
import { parseInput } from './validate.ts';
import { exportRateLimits, importRateLimits } from './rate-limit-transfer.ts';
import { checkScriptToSave, scriptSecretsColumn } from '../scripts/script-save.ts';
import { checkChannels, exportChannels, importChannels } from './channel-transfer.ts';

export const CONFIG_IMPORT_MODES = ['MERGE', 'REPLACE'] as const;
export type ConfigImportMode = (typeof CONFIG_IMPORT_MODES)[number];

export interface ImportCounts {
  created: number;
  updated: number;
  deleted: number;
}
export interface ConfigImportResult {
  upstreams: ImportCounts;
  rules: ImportCounts;
  accessTokens: ImportCounts;
  rateLimits: ImportCounts;
  notificationChannels: ImportCounts;
}

type Tx = Parameters<Parameters<AdminDeps['prisma']['$transaction']>[0]>[0];
const counts = (): ImportCounts => ({ created: 0, updated: 0, deleted: 0 });

/** Whether writing `data` would change `row`: an import that changes nothing leaves rows (and updatedAt) as they are. */
function changes(row: object, data: Record<string, unknown>): boolean {
  const stored = row as Record<string, unknown>;
  return Object.entries(data).some(([column, value]) => {
    const was = stored[column];
    if (was instanceof Date || value instanceof Date) return (was as Date | null)?.getTime() !== (value as Date | null)?.getTime();
    return was !== value;
  });
}

/**
 * Upstreams, rules, access-token metadata, rate limits and notification
 * channels (webhook secrets left out) as one JSON document (keys are not in
 * it: their secrets move only through exportKeys). Import validates the
 * whole document, then writes it in one interactive transaction: MERGE creates
 * or updates by name (rules by upstream + name, tokens by hash); REPLACE also
 * deletes what the document does not name, keys of deleted upstreams included.
 */
// size: longer because it is a factory of short closures over one shared state; each closure stays small.
export function configTransfer(deps: Pick<AdminDeps, 'prisma' | 'commit' | 'log' | 'state' | 'cipher' | 'smtpMissing'>) {
  const { prisma, commit, log, state, cipher, smtpMissing } = deps;

  async function exportConfig(): Promise<ConfigDocument & { exportedAt: string }> {
    const [upstreams, rules, tokens] = await Promise.all([
      prisma.upstream.findMany({ orderBy: { name: 'asc' } }),
      prisma.rule.findMany({ orderBy: [{ priority: 'asc' }, { name: 'asc' }, { id: 'asc' }] }),
      prisma.accessToken.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
    ]);
    const names = new Map(upstreams.map((u) => [u.id, u.name]));
    return {
      version: CONFIG_VERSION,
      exportedAt: new Date().toISOString(),
      upstreams: upstreams.map(upstreamToDoc) as ConfigDocument['upstreams'],
      rules: rules.map((r) => ruleToDoc(r, r.upstreamId ? (names.get(r.upstreamId) ?? null) : null)) as ConfigDocument['rules'],
      accessTokens: tokens.map((t) => tokenToDoc(t, (id) => names.get(id))) as ConfigDocument['accessTokens'],
      rateLimits: await exportRateLimits(prisma, upstreams, tokens),
      notificationChannels: (await exportChannels(prisma, (id) => names.get(id))) as ConfigDocument['notificationChannels'],
    };
  }

  async function importConfig(json: unknown, mode: ConfigImportMode): Promise<ConfigImportResult> {
    let raw = json;
    if (typeof raw === 'string') {
      try {
        raw = JSON.parse(raw);
      } catch {
        throw new UserInputError('json: is not valid JSON', 'json');
      }
    }
    const doc = parseInput(configDocumentSchema, raw, 'json');
    // Every rule compiles before anything is written (the upstream id is not known yet; it does not affect validity).
    doc.rules.forEach((r, i) => checkRule(ruleFromDoc(r, RULE_DEFAULTS, null), `json.rules.${i}`));
    checkChannels(doc.notificationChannels, smtpMissing);
    // Header scripts run once each, with the document's secrets or, failing those, the stored ones of the same name.
    for (const [i, u] of doc.upstreams.entries()) {
      const existing = u.headerScript ? await prisma.upstream.findUnique({ where: { name: u.name } }) : null;
      checkScriptToSave(state.scripts, cipher, u, existing, `json.upstreams.${i}`);
    }

    const result = await prisma.$transaction((tx) => write(tx, doc, mode), { timeout: 60_000, maxWait: 10_000 });

    await commit({ kind: 'all' });
    log.info({ mode, ...result }, 'configuration imported');
    return result;
  }

  async function write(tx: Tx, doc: ConfigDocument, mode: ConfigImportMode): Promise<ConfigImportResult> {
    const result: ConfigImportResult = { upstreams: counts(), rules: counts(), accessTokens: counts(), rateLimits: counts(), notificationChannels: counts() };
    const ids = new Map<string, string>();
    for (const u of doc.upstreams) {
      // The same upstream regardless of case, as names are unique that way.
      const existing = await tx.upstream.findUnique({ where: { nameKey: upstreamNameKey(u.name) } });
      const row = existing
        ? changes(existing, upstreamColumns(u)) || u.scriptSecrets !== undefined
          ? await tx.upstream.update({ where: { id: existing.id }, data: { ...upstreamColumns(u), ...scriptSecretsColumn(u, cipher) } })
          : existing
        : await tx.upstream.create({ data: { ...upstreamColumns(u), ...scriptSecretsColumn(u, cipher), name: u.name, baseUrl: u.baseUrl } });
      result.upstreams[existing ? 'updated' : 'created']++;
      ids.set(row.name, row.id);
    }
    const resolve = async (name: string | null | undefined, field: string) => {
      if (!name) return null;
      // REPLACE deletes upstreams the document does not name, so only the document's own count there.
      const known = ids.get(name) ?? (mode === 'MERGE' ? (await tx.upstream.findUnique({ where: { nameKey: upstreamNameKey(name) }, select: { id: true } }))?.id : undefined);
      if (!known) throw new NotFoundError(`no upstream named "${name}" in the document${mode === 'MERGE' ? ' or the database' : ''}`, field);
      ids.set(name, known);
      return known;
    };

    const keptRules: string[] = [];
    for (const [i, r] of doc.rules.entries()) {
      const upstreamId = await resolve(r.upstream, `json.rules.${i}.upstream`);
      const { id: _id, condition, actions, ...rest } = ruleFromDoc(r, RULE_DEFAULTS, upstreamId);
      const data = { ...rest, condition: JSON.stringify(condition), actions: JSON.stringify(actions) };
      const existing = await tx.rule.findFirst({ where: { upstreamId, name: r.name } });
      const row = existing ? (changes(existing, data) ? await tx.rule.update({ where: { id: existing.id }, data }) : existing) : await tx.rule.create({ data });
      result.rules[existing ? 'updated' : 'created']++;
      keptRules.push(row.id);
    }

    for (const [i, t] of doc.accessTokens.entries()) {
      const upstreamIds: string[] = [];
      for (const [j, name] of t.upstreams.entries()) upstreamIds.push((await resolve(name, `json.accessTokens.${i}.upstreams.${j}`))!);
      const data = { name: t.name, prefix: t.prefix, upstreamIds: JSON.stringify(upstreamIds), enabled: t.enabled, revokedAt: t.revokedAt ? new Date(t.revokedAt) : null };
      const existing = await tx.accessToken.findUnique({ where: { tokenHash: t.tokenHash } });
      if (existing) {
        if (changes(existing, data)) await tx.accessToken.update({ where: { id: existing.id }, data });
      } else await tx.accessToken.create({ data: { ...data, tokenHash: t.tokenHash } });
      result.accessTokens[existing ? 'updated' : 'created']++;
    }

    result.rateLimits = await importRateLimits(tx, doc.rateLimits, mode, resolve, log);
    result.notificationChannels = await importChannels(tx, doc.notificationChannels, mode, resolve, cipher, smtpMissing);

    if (mode === 'REPLACE') {
      result.upstreams.deleted = (await tx.upstream.deleteMany({ where: { name: { notIn: doc.upstreams.map((u) => u.name) } } })).count;
      result.rules.deleted = (await tx.rule.deleteMany({ where: { id: { notIn: keptRules } } })).count;
      result.accessTokens.deleted = (await tx.accessToken.deleteMany({ where: { tokenHash: { notIn: doc.accessTokens.map((t) => t.tokenHash) } } })).count;
    }
    return result;
  }

  return { exportConfig, importConfig };
}
