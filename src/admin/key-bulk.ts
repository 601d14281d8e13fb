import { z } from 'zod';
import { freeText } from '../text.ts';
import type { AdminDeps } from './deps.ts';
import { NotFoundError, UserInputError } from '../errors.ts';
import { KEY_STATUSES } from '../state/types.ts';
import { parseInput } from './validate.ts';

const bulkStatusSchema = z.object({
  ids: z.array(z.string().min(1)).min(1, 'give at least one key id').max(10_000),
  status: z.enum(KEY_STATUSES),
  until: z.date().nullish(),
  reason: freeText().max(500).nullish(),
});

/** Operations over many keys at once; every status change still goes through the lifecycle (one KeyEvent each). */
export function keyBulk(deps: Pick<AdminDeps, 'prisma' | 'state' | 'lifecycle' | 'log' | 'usage' | 'events'>) {
  const { prisma, state, lifecycle, log, usage, events } = deps;

  return {
    /** All ids are checked before any key changes, so a typo changes nothing. */
    async setManyStatus(input: unknown): Promise<string[]> {
      const data = parseInput(bulkStatusSchema, input, '');
      if (data.until && data.status !== 'DISABLED') throw new UserInputError('until only applies to DISABLED', 'until');
      if (data.until && data.until.getTime() <= Date.now()) throw new UserInputError('until must be in the future', 'until');
      const ids = [...new Set(data.ids)];
      const missing = ids.findIndex((id) => !state.keys.has(id));
      if (missing >= 0) throw new NotFoundError(`no key with id ${ids[missing]}`, `ids.${data.ids.indexOf(ids[missing]!)}`);
      const opts = { actor: 'ADMIN' as const, reason: data.reason ?? null, until: data.until?.getTime() ?? null };
      await Promise.all(ids.map((id) => lifecycle.transition(id, data.status, opts)));
      return ids;
    },

    /**
     * Sets the quota count of one key, or of every key of an upstream, to 0 in
     * the database and in memory, and returns EXHAUSTED keys to ACTIVE.
     */
    async resetQuota(target: { keyId?: string | null; upstreamId?: string | null }): Promise<string[]> {
      if (!!target.keyId === !!target.upstreamId) throw new UserInputError('give exactly one of keyId and upstreamId', target.keyId ? 'upstreamId' : 'keyId');
      let ids: string[];
      if (target.keyId) {
        if (!state.keys.has(target.keyId)) throw new NotFoundError(`no key with id ${target.keyId}`, 'keyId');
        ids = [target.keyId];
      } else {
        const runtime = state.upstreamsById.get(target.upstreamId!);
        if (!runtime) throw new NotFoundError(`no upstream with id ${target.upstreamId}`, 'upstreamId');
        ids = [...runtime.keys.keys()];
      }
      // Pending charges from before the reset must not land on top of the fresh period.
      for (const id of ids) usage?.discardQuota(id);
      // Cluster mode's quota blocks belong to the period: the reset clears them with the count.
      await prisma.$transaction([
        prisma.apiKey.updateMany({ where: target.keyId ? { id: target.keyId } : { upstreamId: target.upstreamId! }, data: { quotaUsed: 0, quotaLeased: 0 } }),
        prisma.quotaLease.deleteMany({ where: { keyId: { in: ids } } }),
      ]);
      for (const id of ids) {
        const key = state.keys.get(id);
        if (!key) continue;
        // The in-memory count runs ahead of the batched writes; a reset rewrites both.
        state.apply(key, { type: 'usedReset' });
      }
      // Other instances (cluster mode) count this period from 0 too.
      events.publish('config:changed', { kind: 'quotaReset', keyIds: ids });
      const exhausted = ids.filter((id) => state.keys.get(id)?.status === 'EXHAUSTED');
      await Promise.all(exhausted.map((id) => lifecycle.transition(id, 'ACTIVE', { actor: 'ADMIN', reason: 'quota reset' })));
      log.info({ keys: ids.length, reactivated: exhausted.length, upstreamId: target.upstreamId ?? undefined }, 'quota reset');
      return ids;
    },
  };
}
