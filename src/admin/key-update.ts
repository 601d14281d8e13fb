import { z } from 'zod';
import type { AdminDeps } from './deps.ts';
import { NotFoundError, UserInputError } from '../errors.ts';
import { parseInput } from './validate.ts';

// Absent (or null) name and weight leave them as they are; quota null means unlimited, absent leaves it.
const changes = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200).nullish(),
  weight: z.number().int().min(0).max(1_000_000).nullish(),
  quota: z.number().int().min(0).nullish(),
});
const oneUpdate = z.object({ id: z.string().min(1) }).extend(changes.shape);
const manyUpdates = z.array(oneUpdate).min(1, 'give at least one key').max(10_000);

export type KeyChanges = z.infer<typeof changes>;

function columnsOf(c: KeyChanges): { name?: string; weight?: number; quotaLimit?: number | null } {
  return {
    ...(c.name != null ? { name: c.name } : {}),
    ...(c.weight != null ? { weight: c.weight } : {}),
    ...(c.quota !== undefined ? { quotaLimit: c.quota } : {}),
  };
}

/**
 * Edits a key in place: its id, usage counts and KeyEvent history stay. The
 * rows are stored first (all in one transaction for many), then the in-memory
 * keys reload, so the pool's weights change before the call returns.
 */
export function keyUpdate(deps: AdminDeps) {
  const { prisma, state, lifecycle, events } = deps;

  async function updateAll(list: Array<{ id: string } & KeyChanges>, field: (i: number) => string): Promise<string[]> {
    const missing = list.findIndex((u) => !state.keys.has(u.id));
    if (missing >= 0) throw new NotFoundError(`no key with id ${list[missing]!.id}`, field(missing));
    const seen = new Set<string>();
    list.forEach((u, i) => {
      if (seen.has(u.id)) throw new UserInputError(`${field(i)}: the key appears twice`, field(i));
      seen.add(u.id);
    });
    await prisma.$transaction(list.map((u) => prisma.apiKey.update({ where: { id: u.id }, data: columnsOf(u), select: { id: true } })));
    for (const u of list) await refreshKey(u.id);
    return list.map((u) => u.id);
  }

  // The one place an edited key reaches memory: reload (weights into the pool), then fix its status for the new quota.
  async function refreshKey(id: string): Promise<void> {
    // The lifecycle changes a key in memory before it stores it: let pending status writes land, or the reload would undo them.
    await lifecycle.flushed();
    const key = await state.reloadKey(id);
    if (!key) return;
    events.publish('config:changed', { kind: 'key', id, upstreamId: key.upstreamId });
    const left = key.quotaLimit === null || key.used < key.quotaLimit;
    if (key.status === 'EXHAUSTED' && left) await lifecycle.transition(id, 'ACTIVE', { actor: 'ADMIN', reason: 'quota raised' });
    else if (key.status === 'ACTIVE' && !left) await lifecycle.transition(id, 'EXHAUSTED', { actor: 'ADMIN', reason: `quota lowered to ${key.quotaLimit}` });
  }

  return {
    async update(id: string, input: unknown): Promise<string> {
      const data = parseInput(changes, input, 'input');
      await updateAll([{ id, ...data }], () => 'id');
      return id;
    },
    async updateMany(input: unknown): Promise<string[]> {
      const list = parseInput(manyUpdates, input, 'input');
      return updateAll(list, (i) => `input.${i}.id`);
    },
  };
}
