// The log writer's rollup step (see log-rollup.ts), for each provider: inside
// the batch's transaction, after the rows, sum the stored rows by group and
// add each group to its row, by the id remembered from the last batch (or
// looked up, or a new row). A failed transaction must call forget(): rows it
// inserted are gone with it.

import type Database from 'better-sqlite3';
import type { StoredRow } from './log-sql.ts';
import {
  changedColumns, referencedIds, rollupInsertParams, rollupInsertSql, rollupLookupSql, rollupRows, rollupUpdateParams, rollupUpdateSql, RollupRowIds,
  type RollupGroup,
} from './log-rollup.ts';

export interface RollupWriter<W> {
  write: W;
  forget(): void;
}

/** Statements by the set of columns they change; a few dozen shapes in practice. */
function shapes<S>(make: (columns: number[]) => S): (columns: number[]) => S {
  const cache = new Map<string, S>();
  return (columns) => {
    const key = columns.join(',');
    let s = cache.get(key);
    if (s === undefined) {
      if (cache.size >= 256) cache.clear();
      cache.set(key, (s = make(columns)));
    }
    return s;
  };
}

type Write = (rows: readonly StoredRow[], ids: readonly number[], safe: boolean) => void;

export function sqliteRollupWriter(db: Database.Database): RollupWriter<Write> {
  const q = () => '?';
  const update = shapes((columns) => db.prepare(rollupUpdateSql('sqlite', q, columns)));
  const lookup = db.prepare(rollupLookupSql('sqlite', q)).pluck();
  const insert = db.prepare(rollupInsertSql(q, false));
  const upstreamExists = db.prepare('SELECT 1 FROM "Upstream" WHERE "id" = ?').pluck();
  const keyExists = db.prepare('SELECT 1 FROM "ApiKey" WHERE "id" = ?').pluck();
  const rowIds = new RollupRowIds();
  const addTo = (g: RollupGroup, id: number | undefined) => {
    if (id === undefined) return false;
    const columns = changedColumns(g);
    return update(columns).run(rollupUpdateParams(g, columns, id)).changes === 1;
  };
  return {
    write(rows, ids, safe) {
      let gone: Set<string> | undefined;
      if (safe) {
        const refs = referencedIds(rows, ids);
        gone = new Set([...refs.upstreams.filter((id) => upstreamExists.get(id) === undefined), ...refs.keys.filter((id) => keyExists.get(id) === undefined)]);
      }
      for (const g of rollupRows(rows, ids, gone)) {
        let id = rowIds.get(g);
        if (!addTo(g, id)) {
          id = lookup.get(g.minute, g.upstreamId, g.keyId) as number | undefined;
          if (!addTo(g, id)) id = Number(insert.run(rollupInsertParams(g, (ms) => ms)).lastInsertRowid);
        }
        rowIds.set(g, id!);
      }
    },
    forget: () => rowIds.clear(),
  };
}

type PgQuery = (text: string, params: unknown[]) => Promise<{ rows: Array<Record<string, unknown>>; rowCount: number | null }>;
type PgWrite = (query: PgQuery, rows: readonly StoredRow[], ids: readonly number[], safe: boolean) => Promise<void>;

export function pgRollupWriter(): RollupWriter<PgWrite> {
  const pg = (n: number) => `$${n}`;
  const update = shapes((columns) => rollupUpdateSql('postgres', pg, columns));
  const lookup = rollupLookupSql('postgres', pg);
  const insert = rollupInsertSql(pg, true);
  const rowIds = new RollupRowIds();
  return {
    async write(query, rows, ids, safe) {
      let gone: Set<string> | undefined;
      if (safe) {
        const refs = referencedIds(rows, ids);
        const found = await query('SELECT "id" FROM "Upstream" WHERE "id" = ANY($1::text[]) UNION ALL SELECT "id" FROM "ApiKey" WHERE "id" = ANY($2::text[])', [refs.upstreams, refs.keys]);
        const present = new Set(found.rows.map((r) => r.id as string));
        gone = new Set([...refs.upstreams, ...refs.keys].filter((id) => !present.has(id)));
      }
      const addTo = async (g: RollupGroup, id: number | undefined) => {
        if (id === undefined) return false;
        const columns = changedColumns(g);
        return (await query(update(columns), rollupUpdateParams(g, columns, id))).rowCount === 1;
      };
      for (const g of rollupRows(rows, ids, gone)) {
        let id = rowIds.get(g);
        if (!(await addTo(g, id))) {
          const found = await query(lookup, [new Date(g.minute), g.upstreamId, g.keyId]);
          id = found.rows.length ? Number(found.rows[0]!.id) : undefined;
          if (!(await addTo(g, id))) id = Number((await query(insert, rollupInsertParams(g, (ms) => new Date(ms)))).rows[0]!.id);
        }
        rowIds.set(g, id!);
      }
    },
    forget: () => rowIds.clear(),
  };
}
