import type { AdminDeps } from './deps.ts';
import { NotFoundError, UserInputError } from '../errors.ts';
import { parseInput } from './validate.ts';
import { createUpstreamSchema, updateUpstreamSchema, upstreamColumns, upstreamNameKey } from './upstream-input.ts';
import { checkScriptToSave, scriptSecretsColumn } from '../scripts/script-save.ts';

export function upstreamAdmin(deps: Pick<AdminDeps, 'prisma' | 'commit' | 'state' | 'cipher'>) {
  const { prisma, commit, state, cipher } = deps;

  // Regardless of case: "OpenAI" and "openai" would be two routes a person cannot tell apart.
  async function ensureNameFree(name: string, exceptId?: string) {
    const clash = await prisma.upstream.findUnique({ where: { nameKey: upstreamNameKey(name) } });
    if (clash && clash.id !== exceptId) {
      const same = clash.name === name ? `an upstream named "${name}" exists` : `an upstream named "${clash.name}" exists; names are unique regardless of case`;
      throw new UserInputError(same, 'input.name');
    }
  }

  const changed = (id: string) => commit({ kind: 'upstream', id });

  return {
    async create(input: unknown) {
      const data = parseInput(createUpstreamSchema, input);
      await ensureNameFree(data.name);
      checkScriptToSave(state.scripts, cipher, data, null);
      const row = await prisma.upstream.create({ data: { ...upstreamColumns(data), ...scriptSecretsColumn(data, cipher), name: data.name, baseUrl: data.baseUrl } });
      await changed(row.id);
      return row;
    },
    async update(id: string, input: unknown) {
      const data = parseInput(updateUpstreamSchema, input);
      const existing = await prisma.upstream.findUnique({ where: { id } });
      if (!existing) throw new NotFoundError(`no upstream with id ${id}`, 'id');
      if (data.name && data.name !== existing.name) await ensureNameFree(data.name, id);
      checkScriptToSave(state.scripts, cipher, data, existing);
      const row = await prisma.upstream.update({ where: { id }, data: { ...upstreamColumns(data), ...scriptSecretsColumn(data, cipher) } });
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
