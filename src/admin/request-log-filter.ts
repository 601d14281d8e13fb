import { z } from 'zod';
import type { Prisma } from '../generated/prisma/client.ts';
import type { Provider } from '../db/sql-driver.ts';
import { UserInputError } from '../errors.ts';
import { parseInput } from './validate.ts';
import { plainText } from '../text.ts';

export interface RequestLogFilter {
  requestId?: string | null;
  upstreamId?: string | null;
  keyId?: string | null;
  accessTokenId?: string | null;
  statusMin?: number | null;
  statusMax?: number | null;
  from?: Date | null;
  to?: Date | null;
  matchedRuleId?: string | null;
  errorsOnly?: boolean | null;
  text?: string | null;
}

const filterSchema = z.object({
  requestId: plainText().min(1, 'must not be empty').max(200).nullish(),
  upstreamId: plainText().nullish(),
  keyId: plainText().nullish(),
  accessTokenId: plainText().nullish(),
  statusMin: z.number().int().min(0).max(999).nullish(),
  statusMax: z.number().int().min(0).max(999).nullish(),
  text: plainText().min(1, 'must not be empty').max(500).nullish(),
  matchedRuleId: plainText().min(1).max(100).regex(/^[^,]+$/, 'must be one rule id').nullish(),
});

/** The status/error pair that makes a log row an error everywhere (filters, stats, subscriptions). */
export function isErrorLog(row: { status: number; error: string | null }): boolean {
  return row.status >= 400 || row.error !== null;
}

/**
 * Prisma `where` for a request log filter. Equality filters on upstream, key
 * and access token ride the (x, id) indexes, so a page ordered by id stays an
 * index range scan however large the table grows.
 */
export function requestLogWhere(filter: RequestLogFilter | null | undefined, provider: Provider): Prisma.RequestLogWhereInput {
  if (!filter) return {};
  parseInput(filterSchema, filter, 'filter');
  if (filter.statusMin != null && filter.statusMax != null && filter.statusMin > filter.statusMax) {
    throw new UserInputError('filter.statusMin: must not exceed statusMax', 'filter.statusMin');
  }
  if (filter.from && filter.to && filter.from > filter.to) throw new UserInputError('filter.from: must not be after filter.to', 'filter.from');

  const and: Prisma.RequestLogWhereInput[] = [];
  // Rides the requestId index.
  if (filter.requestId != null) and.push({ requestId: filter.requestId });
  if (filter.upstreamId) and.push({ upstreamId: filter.upstreamId });
  if (filter.keyId) and.push({ keyId: filter.keyId });
  if (filter.accessTokenId) and.push({ accessTokenId: filter.accessTokenId });
  if (filter.statusMin != null || filter.statusMax != null) {
    and.push({ status: { ...(filter.statusMin != null ? { gte: filter.statusMin } : {}), ...(filter.statusMax != null ? { lte: filter.statusMax } : {}) } });
  }
  if (filter.from || filter.to) and.push({ createdAt: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lte: filter.to } : {}) } });
  if (filter.errorsOnly) and.push({ OR: [{ status: { gte: 400 } }, { error: { not: null } }] });
  if (filter.matchedRuleId) {
    // matchedRules is "id1,id2,...": the same as matching ",id," inside ",list,", without an expression Prisma cannot write.
    const id = filter.matchedRuleId;
    and.push({ OR: [{ matchedRules: id }, { matchedRules: { startsWith: `${id},` } }, { matchedRules: { endsWith: `,${id}` } }, { matchedRules: { contains: `,${id},` } }] });
  }
  if (filter.text) {
    // SQLite's LIKE ignores ASCII case already; PostgreSQL needs ILIKE. The SQLite client's types lack `mode`.
    const contains = (provider === 'postgres' ? { contains: filter.text, mode: 'insensitive' } : { contains: filter.text }) as Prisma.StringFilter;
    and.push({ OR: [{ path: contains }, { error: contains }] });
  }
  return and.length ? { AND: and } : {};
}
