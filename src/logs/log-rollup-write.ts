// The log writer's rollup step (see log-rollup.ts), for each provider: inside
// the batch's transaction, after the rows, sum the stored rows by group and
// add each group to its row, by the id remembered from the last batch (or
// looked up, or a new row). A failed transaction must call forget(): rows it
// inserted are gone with it.

import type Database from 'better-sqlite3';
import type { StoredRow } from './log-sql.ts';
import {
  changedColumns, KEY_MINUTES_TABLE, MINUTES_TABLE, referencedIds, rollupInsertParams, rollupInsertSql, rollupLookupParams, rollupLookupSql, rollupRows,
  rollupUpdateParams, rollupUpdateSql, RollupRowIds, type RollupGroup, type RollupTable,
} from './log-rollup.ts';

export interface RollupWriter<W> {
  write: W;
  forget(): void;
}

/** Statements by table and the set of columns they change; a few dozen shapes in practice. */
function shapes<S>(make: (table: RollupTable, columns: number[]) => S): (table: RollupTable, columns: number[]) => S {
  const cache = new Map<string, S>();
  return (table, columns) => {
    const key = `${table.name}:${columns.join(',')}`;
    let s = cache.get(key);
    if (s === undefined) {
      if (cache.size >= 256) cache.clear();
      cache.set(key, (s = make(table, columns)));
    }
    return s;
  };
}

/** One statement per table, made once. */
function perTable<S>(make: (table: RollupTable) => S): (table: RollupTable) => S {
  const made = new Map([MINUTES_TABLE, KEY_MINUTES_TABLE].map((t) => [t.name, make(t)]));
  return (table) => made.get(table.name)!;
}

type Write = (rows: readonly StoredRow[], ids: readonly number[], safe: boolean) => void;

export function sqliteRollupWriter(db: Database.Database): RollupWriter<Write> {
  const q = () => '?';
  const update = shapes((table, columns) => db.prepare(rollupUpdateSql('sqlite', q, table, columns)));
  const lookup = perTable((table) => db.prepare(rollupLookupSql('sqlite', q, table)).pluck());
  const insert = perTable((table) => db.prepare(rollupInsertSql(q, table, false)));
  const upstreamExists = db.prepare('SELECT 1 FROM "Upstream" WHERE "id" = ?').pluck();
  const keyExists = db.prepare('SELECT 1 FROM "ApiKey" WHERE "id" = ?').pluck();
  const rowIds = new RollupRowIds();
  const addTo = (g: RollupGroup, id: number | undefined) => {
    if (id === undefined) return false;
    const columns = changedColumns(g);
    return update(g.table, columns).run(rollupUpdateParams(g, columns, id)).changes === 1;
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
          id = lookup(g.table).get(rollupLookupParams(g, (ms) => ms)) as number | undefined;
          if (!addTo(g, id)) id = Number(insert(g.table).run(rollupInsertParams(g, (ms) => ms)).lastInsertRowid);
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
  const update = shapes((table, columns) => rollupUpdateSql('postgres', pg, table, columns));
  const lookup = perTable((table) => rollupLookupSql('postgres', pg, table));
  const insert = perTable((table) => rollupInsertSql(pg, table, true));
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
        return (await query(update(g.table, columns), rollupUpdateParams(g, columns, id))).rowCount === 1;
      };
      for (const g of rollupRows(rows, ids, gone)) {
        let id = rowIds.get(g);
        if (!(await addTo(g, id))) {
          const found = await query(lookup(g.table), rollupLookupParams(g, (ms) => new Date(ms)));
          id = found.rows.length ? Number(found.rows[0]!.id) : undefined;
          if (!(await addTo(g, id))) id = Number((await query(insert(g.table), rollupInsertParams(g, (ms) => new Date(ms)))).rows[0]!.id);
        }
        rowIds.set(g, id!);
      }
    },
    forget: () => rowIds.clear(),
  };
}
