import type { AdminDeps } from './deps.ts';
import { NotFoundError, UserInputError } from '../errors.ts';
import type { keyAdmin } from './keys.ts';
import { parseKeyImport, type ImportProblem, type KeyImportFormat } from './key-import-parse.ts';

export interface KeyImportResult {
  added: number;
  skipped: number;
  invalid: number;
  /** Rejected lines, at most MAX_PROBLEMS of them (`invalid` has the full count). */
  problems: ImportProblem[];
}

export const MAX_IMPORT_KEYS = 100_000;
const MAX_PROBLEMS = 1000;
const CHUNK = 1000;

/**
 * Bulk import. Invalid lines are reported, not fatal; keys already in the
 * pool (same keyed hash) or repeated in the text are skipped. The rows go in
 * with createMany in chunks inside one transaction, then the state reloads
 * once: 10,000 keys take about a second.
 */
export function keyImport(deps: AdminDeps, keys: ReturnType<typeof keyAdmin>) {
  const { prisma, state, events, log } = deps;
  return async function importKeys(upstreamId: string, text: string, format: KeyImportFormat): Promise<KeyImportResult> {
    if (!(await prisma.upstream.findUnique({ where: { id: upstreamId }, select: { id: true } }))) {
      throw new NotFoundError(`no upstream with id ${upstreamId}`, 'upstreamId');
    }
    const parsed = parseKeyImport(text, format);
    if (parsed.keys.length + parsed.problems.length > MAX_IMPORT_KEYS) {
      throw new UserInputError(`text: at most ${MAX_IMPORT_KEYS} keys per import`, 'text');
    }
    const existing = await prisma.apiKey.findMany({ where: { upstreamId }, select: { secretHash: true } });
    const { rows, skipped } = await keys.prepareRows(upstreamId, parsed.keys, new Set(existing.map((e) => e.secretHash)));
    if (rows.length) {
      await prisma.$transaction(
        async (tx) => {
          for (let i = 0; i < rows.length; i += CHUNK) await tx.apiKey.createMany({ data: rows.slice(i, i + CHUNK) });
        },
        { timeout: 120_000, maxWait: 10_000 },
      );
      await state.reloadUpstream(upstreamId);
      events.publish('config:changed', { kind: 'upstream', id: upstreamId });
    }
    const result = { added: rows.length, skipped, invalid: parsed.problems.length, problems: parsed.problems.slice(0, MAX_PROBLEMS) };
    log.info({ upstreamId, format, added: result.added, skipped, invalid: result.invalid }, 'keys imported');
    return result;
  };
}
