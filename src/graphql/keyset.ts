/**
 * Turns the connection query Pothos builds (Prisma's `cursor` + `skip: 1`)
 * into a plain keyset condition for tables listed newest first by an integer
 * id: `id < cursor` forward, `id > cursor` backward. Prisma's own cursor looks
 * the cursor row up in a subquery, so a row deleted between two pages (log
 * retention) would end the listing with an empty page; a bare id bound keeps
 * going, and stays one range scan on the (x, id) indexes.
 */
export function newestFirstById<Q extends { cursor?: { id?: number }; skip?: number; take?: number }, W extends object>(query: Q, where: W) {
  const { cursor, skip: _skip, ...rest } = query;
  const id = cursor?.id;
  const bound = (rest.take ?? 1) < 0 ? { gt: id as number } : { lt: id as number };
  return {
    ...rest,
    skip: 0,
    where: id === undefined ? where : { AND: [where, { id: bound }] },
    orderBy: { id: 'desc' as const },
  };
}
