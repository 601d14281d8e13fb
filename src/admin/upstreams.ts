import type { AdminDeps } from './deps.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { parseInput } from './validate.ts';
import { createUpstreamSchema, updateUpstreamSchema, upstreamColumns } from './upstream-input.ts';

export function upstreamAdmin(deps: Pick<AdminDeps, 'prisma' | 'commit'>) {
  const { prisma, commit } = deps;

  async function ensureNameFree(name: string, exceptId?: string) {
    const clash = await prisma.upstream.findUnique({ where: { name } });
    if (clash && clash.id !== exceptId) throw new ConflictError(`an upstream named "${name}" exists`, 'input.name');
  }

  const changed = (id: string) => commit({ kind: 'upstream', id });

  return {
    async create(input: unknown) {
      const data = parseInput(createUpstreamSchema, input);
      await ensureNameFree(data.name);
      const row = await prisma.upstream.create({ data: { ...upstreamColumns(data), name: data.name, baseUrl: data.baseUrl } });
      await changed(row.id);
      return row;
    },
    async update(id: string, input: unknown) {
      const data = parseInput(updateUpstreamSchema, input);
      const existing = await prisma.upstream.findUnique({ where: { id } });
      if (!existing) throw new NotFoundError(`no upstream with id ${id}`, 'id');
      if (data.name && data.name !== existing.name) await ensureNameFree(data.name, id);
      const row = await prisma.upstream.update({ where: { id }, data: upstreamColumns(data) });
      await changed(id);
      return row;
    },
    async remove(id: string) {
      const existing = await prisma.upstream.findUnique({ where: { id } });
      if (!existing) throw new NotFoundError(`no upstream with id ${id}`, 'id');
      await prisma.upstream.delete({ where: { id } });
      await changed(id);
      return existing;
    },
  };
}
