// Applies a loaded config file at start, through the same admin services as
// the API (validate, store, reload, publish). Idempotent: what already matches
// is not written again, so a second start with the same file changes nothing.
// Nothing is deleted: whatever the file no longer names stays (the start logs
// it by name), so a truncated or half-merged file cannot wipe keys or their history.

import type { AdminServices } from '../admin/services.ts';
import { DomainError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { KeyDoc } from './config-file-schema.ts';
import { ConfigFileError, type LoadedConfigFile } from './load-config-file.ts';

const toPath = (field: string) => field.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));

export interface KeyApplyCounts {
  added: number;
  updated: number;
  unchanged: number;
}

async function applyKeys(services: AdminServices, loaded: LoadedConfigFile): Promise<KeyApplyCounts & { notInFile: number }> {
  const counts = { added: 0, updated: 0, unchanged: 0, notInFile: 0 };
  const byUpstream = new Map<string, Array<[number, KeyDoc]>>();
  loaded.keys.forEach((k, i) => byUpstream.set(k.upstream, [...(byUpstream.get(k.upstream) ?? []), [i, k]]));
  for (const [name, list] of byUpstream) {
    const runtime = services.state.upstreamsByName.get(name);
    if (!runtime) throw new ConfigFileError(loaded.file, [loaded.describe(['keys', list[0]![0], 'upstream'], `no upstream named "${name}" in the file or the database`)]);
    const stored = await services.prisma.apiKey.findMany({ where: { upstreamId: runtime.config.id }, select: { id: true, secretHash: true, name: true, weight: true, quotaLimit: true } });
    const byHash = new Map(stored.map((row) => [row.secretHash, row]));
    const fresh: KeyDoc[] = [];
    const edits: Array<{ id: string; name?: string; weight?: number; quota?: number | null }> = [];
    const named = new Set<string>();
    for (const [, k] of list) {
      const row = byHash.get(services.secrets.keyHash(k.value));
      if (!row) {
        fresh.push(k);
        continue;
      }
      named.add(row.id);
      // Only what the file states is compared: a field left out keeps what the API set.
      const edit = {
        ...(k.name != null && k.name !== row.name ? { name: k.name } : {}),
        ...(k.weight != null && k.weight !== row.weight ? { weight: k.weight } : {}),
        ...(k.quota !== undefined && k.quota !== row.quotaLimit ? { quota: k.quota } : {}),
      };
      if (Object.keys(edit).length) edits.push({ id: row.id, ...edit });
      else counts.unchanged++;
    }
    if (fresh.length) counts.added += (await services.keys.add(runtime.config.id, fresh.map(({ upstream: _u, ...k }) => k))).length;
    if (edits.length) counts.updated += (await services.keyUpdate.updateMany(edits)).length;
    counts.notInFile += stored.filter((row) => !named.has(row.id)).length;
  }
  return counts;
}

export async function applyConfigFile(services: AdminServices, loaded: LoadedConfigFile, log: Logger): Promise<void> {
  let result;
  try {
    result = await services.config.importConfig(loaded.document, 'MERGE');
  } catch (error) {
    // A reference the schema could not check (an upstream named nowhere): point at it in the file.
    if (error instanceof DomainError && error.field?.startsWith('json.')) {
      throw new ConfigFileError(loaded.file, [loaded.describe(toPath(error.field.slice(5)), error.message.replace(/^json\.[^:]*: /, ''))]);
    }
    throw error;
  }
  const keys = await applyKeys(services, loaded);
  const named = new Set(loaded.document.upstreams.map((u) => u.name));
  const upstreamsNotInFile = [...services.state.upstreamsByName.keys()].filter((n) => !named.has(n));
  log.info({ file: loaded.file, upstreams: result.upstreams, rules: result.rules, accessTokens: result.accessTokens, keys: { added: keys.added, updated: keys.updated, unchanged: keys.unchanged } }, 'config file applied');
  if (upstreamsNotInFile.length || keys.notInFile) {
    log.warn({ upstreams: upstreamsNotInFile, keysNotInFile: keys.notInFile }, 'the database holds things the config file does not name; they were kept (delete them through the API or the CLI)');
  }
}
