import { z } from 'zod';
import { plainText } from '../text.ts';
import type { AdminDeps } from './deps.ts';
import { NotFoundError } from '../errors.ts';
import { generateToken, sha256Hex } from '../crypto/tokens.ts';
import { parseInput } from './validate.ts';

const createSchema = z.object({
  name: plainText().trim().min(1, 'must not be empty').max(200),
  upstreamIds: z.array(z.string().min(1)).max(1000).nullish(),
});

export function tokenAdmin(deps: Pick<AdminDeps, 'prisma' | 'commit'>) {
  const { prisma, commit } = deps;

  const changed = () => commit({ kind: 'tokens' });

  return {
    /** Returns the token itself; this is the only time it is shown. */
    async create(input: unknown) {
      const data = parseInput(createSchema, input);
      const upstreamIds = [...new Set(data.upstreamIds ?? [])];
      if (upstreamIds.length) {
        const found = await prisma.upstream.findMany({ where: { id: { in: upstreamIds } }, select: { id: true } });
        const missing = upstreamIds.find((id) => !found.some((f) => f.id === id));
        if (missing) throw new NotFoundError(`no upstream with id ${missing}`, 'input.upstreamIds');
      }
      const token = generateToken('kr');
      const accessToken = await prisma.accessToken.create({
        data: { name: data.name, tokenHash: sha256Hex(token), prefix: token.slice(0, 7), upstreamIds: JSON.stringify(upstreamIds) },
      });
      await changed();
      return { token, accessToken };
    },
    async revoke(id: string) {
      const existing = await prisma.accessToken.findUnique({ where: { id } });
      if (!existing) throw new NotFoundError(`no access token with id ${id}`, 'id');
      const row = await prisma.accessToken.update({ where: { id }, data: { enabled: false, revokedAt: existing.revokedAt ?? new Date() } });
      await changed();
      return row;
    },
    /** Deletes a token for good (its request logs keep their rows, without the link). */
    async remove(id: string) {
      const existing = await prisma.accessToken.findUnique({ where: { id } });
      if (!existing) throw new NotFoundError(`no access token with id ${id}`, 'id');
      await prisma.accessToken.delete({ where: { id } });
      await changed();
      return existing;
    },
  };
}
