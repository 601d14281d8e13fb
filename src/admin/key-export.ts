import type { AdminDeps } from './deps.ts';
import { NotFoundError } from '../errors.ts';
import type { KeyStatus } from '../state/types.ts';
import { stringify } from 'csv-stringify/sync';

export interface ExportedKey {
  id: string;
  name: string;
  fingerprint: string;
  status: KeyStatus;
  weight: number;
  quota: number | null;
  /** The secret, only when the export asked for it. */
  value: string | null;
}

export interface KeyExport {
  upstreamId: string;
  upstreamName: string;
  includeSecrets: boolean;
  keys: ExportedKey[];
  /** `value,name,weight,quota`, the CSV importKeys reads; only with secrets (without them it could not be imported). */
  csv: string | null;
}

/** Exports an upstream's keys: fingerprints by default, secrets only when asked, and that is logged (without them). */
export function keyExport(deps: Pick<AdminDeps, 'prisma' | 'cipher' | 'log'>) {
  const { prisma, cipher, log } = deps;
  return async function exportKeys(upstreamId: string, includeSecrets: boolean): Promise<KeyExport> {
    const upstream = await prisma.upstream.findUnique({ where: { id: upstreamId }, select: { id: true, name: true } });
    if (!upstream) throw new NotFoundError(`no upstream with id ${upstreamId}`, 'upstreamId');
    const rows = await prisma.apiKey.findMany({
      where: { upstreamId },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, name: true, fingerprint: true, status: true, weight: true, quotaLimit: true, secretCipher: includeSecrets },
    });
    const keys: ExportedKey[] = rows.map((r) => ({
      id: r.id,
      name: r.name,
      fingerprint: r.fingerprint,
      status: r.status,
      weight: r.weight,
      quota: r.quotaLimit,
      value: includeSecrets ? cipher.decrypt((r as { secretCipher: string }).secretCipher) : null,
    }));
    if (includeSecrets) log.warn({ upstreamId, count: keys.length }, 'keys exported with their secrets');
    const csv = includeSecrets
      ? stringify(keys.map((k) => [k.value, k.name, k.weight, k.quota]), { header: true, columns: ['value', 'name', 'weight', 'quota'] })
      : null;
    return { upstreamId: upstream.id, upstreamName: upstream.name, includeSecrets, keys, csv };
  };
}
