import { z } from 'zod';
import type { AdminDeps } from './deps.ts';
import { NotFoundError, UserInputError } from '../errors.ts';
import { fingerprintOf } from '../crypto/cipher.ts';
import { isSafeHeaderValue } from '../upstream-http/headers.ts';
import { KEY_STATUSES } from '../state/types.ts';
import { parseInput } from './validate.ts';
import { freeText, plainText } from '../text.ts';

export const keyValue = z
  .string()
  .min(1, 'must not be empty')
  .max(4096)
  .refine((v) => v.trim() === v, 'must not start or end with white space')
  .refine(isSafeHeaderValue, 'must not contain CR, LF or other control characters');

const newKey = z.object({
  value: keyValue,
  name: plainText().min(1).max(200).nullish(),
  weight: z.number().int().min(0).max(1_000_000).nullish(),
  quota: z.number().int().min(0).nullish(),
});
const addKeysSchema = z.array(newKey).min(1, 'give at least one key').max(10_000);
export type NewKey = z.infer<typeof newKey>;

const statusSchema = z.object({
  status: z.enum(KEY_STATUSES),
  until: z.date().nullish(),
  reason: freeText().max(500).nullish(),
});

export function keyAdmin(deps: Pick<AdminDeps, 'prisma' | 'state' | 'cipher' | 'lifecycle' | 'commit'>) {
  const { prisma, state, cipher, lifecycle, commit } = deps;

  async function requireUpstream(upstreamId: string) {
    const upstream = await prisma.upstream.findUnique({ where: { id: upstreamId } });
    if (!upstream) throw new NotFoundError(`no upstream with id ${upstreamId}`, 'upstreamId');
    return upstream;
  }

  /** Rows for new keys; a key already in the pool (same keyed hash) is skipped, not duplicated. */
  async function prepareRows(upstreamId: string, keys: NewKey[], existingHashes: Set<string>) {
    const rows = [];
    let skipped = 0;
    for (const [i, k] of keys.entries()) {
      const secretHash = cipher.hash(k.value);
      if (existingHashes.has(secretHash)) {
        skipped++;
        continue;
      }
      existingHashes.add(secretHash);
      rows.push({
        upstreamId,
        name: k.name ?? `key-${fingerprintOf(k.value).slice(1)}-${i + 1}`,
        secretCipher: cipher.encrypt(k.value),
        secretHash,
        fingerprint: fingerprintOf(k.value),
        weight: k.weight ?? 1,
        quotaLimit: k.quota ?? null,
      });
    }
    return { rows, skipped };
  }

  return {
    prepareRows,
    async add(upstreamId: string, input: unknown) {
      await requireUpstream(upstreamId);
      const keys = parseInput(addKeysSchema, input, 'keys');
      const existing = await prisma.apiKey.findMany({ where: { upstreamId }, select: { secretHash: true } });
      const { rows } = await prepareRows(upstreamId, keys, new Set(existing.map((e) => e.secretHash)));
      await prisma.apiKey.createMany({ data: rows });
      await commit({ kind: 'upstream', id: upstreamId });
      // The pool's ids matched in memory: an `IN` list of thousands of hashes passes the database's bound-parameter limit.
      const pool = await prisma.apiKey.findMany({ where: { upstreamId }, select: { id: true, secretHash: true } });
      const idByHash = new Map(pool.map((k) => [k.secretHash, k.id]));
      return rows.map((r) => ({ id: idByHash.get(r.secretHash)!, name: r.name }));
    },
    async setStatus(id: string, input: unknown) {
      const data = parseInput(statusSchema, input, '');
      const key = state.keys.get(id);
      if (!key) throw new NotFoundError(`no key with id ${id}`, 'id');
      if (data.until && data.status !== 'DISABLED') throw new UserInputError('until only applies to DISABLED', 'until');
      if (data.until && data.until.getTime() <= Date.now()) throw new UserInputError('until must be in the future', 'until');
      await lifecycle.transition(id, data.status, { actor: 'ADMIN', reason: data.reason ?? null, until: data.until?.getTime() ?? null });
      return prisma.apiKey.findUniqueOrThrow({ where: { id } });
    },
    async remove(id: string) {
      const row = await prisma.apiKey.findUnique({ where: { id } });
      if (!row) throw new NotFoundError(`no key with id ${id}`, 'id');
      await prisma.apiKey.delete({ where: { id } });
      await commit({ kind: 'key', id, upstreamId: row.upstreamId });
      return row;
    },
  };
}
