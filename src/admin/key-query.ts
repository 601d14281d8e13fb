import type { Prisma } from '../generated/prisma/client.ts';
import type { Provider } from '../db/sql-driver.ts';
import type { KeyStatus } from '../state/types.ts';
import { assertPlainText } from '../text.ts';

export const KEY_ORDERS = ['CREATED_ASC', 'CREATED_DESC', 'NAME_ASC', 'NAME_DESC', 'REQUESTS_DESC', 'FAILURES_DESC', 'STATUS'] as const;
export type KeyOrder = (typeof KEY_ORDERS)[number];

/** Every order ends on id, so cursors (by id) page through a total order. */
export function keyOrderBy(order: KeyOrder | null | undefined): Prisma.ApiKeyOrderByWithRelationInput[] {
  switch (order ?? 'CREATED_ASC') {
    case 'CREATED_DESC':
      return [{ createdAt: 'desc' }, { id: 'desc' }];
    case 'NAME_ASC':
      return [{ name: 'asc' }, { id: 'asc' }];
    case 'NAME_DESC':
      return [{ name: 'desc' }, { id: 'desc' }];
    case 'REQUESTS_DESC':
      return [{ requestCount: 'desc' }, { id: 'asc' }];
    case 'FAILURES_DESC':
      return [{ failureCount: 'desc' }, { id: 'asc' }];
    case 'STATUS':
      return [{ status: 'asc' }, { name: 'asc' }, { id: 'asc' }];
    default:
      return [{ createdAt: 'asc' }, { id: 'asc' }];
  }
}

/** Keys filter: upstream, status, and text in the name or the fingerprint (case-insensitive). */
export function keyWhere(
  args: { upstreamId?: string | null; status?: KeyStatus | null; search?: string | null },
  provider: Provider,
): Prisma.ApiKeyWhereInput {
  const where: Prisma.ApiKeyWhereInput = {};
  if (args.upstreamId) where.upstreamId = args.upstreamId;
  if (args.status) where.status = args.status;
  assertPlainText(args.search, 'search');
  const search = args.search?.trim();
  if (search) {
    const contains = (provider === 'postgres' ? { contains: search, mode: 'insensitive' } : { contains: search }) as Prisma.StringFilter;
    where.OR = [{ name: contains }, { fingerprint: contains }];
  }
  return where;
}
