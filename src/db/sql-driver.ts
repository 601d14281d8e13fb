import type Database from 'better-sqlite3';
import type pg from 'pg';
import { beginWithId, checkOut, commitOrResolve } from './pg-commit.ts';

/** How long a transaction whose COMMIT answer was lost waits for the server to say what became of it. */
const COMMIT_RESOLVE_WAIT_MS = 30_000;

export type Provider = 'sqlite' | 'postgres';
export type SqlValue = string | number | bigint | boolean | Date | null | Buffer;
export type SqlRow = Record<string, unknown>;
/** What one statement of a transaction did. */
export interface SqlResult {
  /** Rows a RETURNING clause produced; [] otherwise. */
  rows: SqlRow[];
  changes: number;
  /** SQLite: the rowid of the last row the statement inserted (cheaper than RETURNING); null on PostgreSQL. */
  lastInsertId: number | null;
}
export interface SqlStatement {
  sql: string;
  params: SqlValue[];
}

/**
 * Raw SQL through the same connection Prisma uses, for the few places where
 * a Prisma call per row would cost more than the request itself (request log
 * and counter batches). SQL is written with `?` placeholders and double-quoted
 * identifiers; the driver adapts both to the provider.
 */
export interface SqlDriver {
  readonly provider: Provider;
  query<T = Record<string, unknown>>(sql: string, params?: SqlValue[]): Promise<T[]>;
  execute(sql: string, params?: SqlValue[]): Promise<number>;
  /** Runs the statements in one transaction: all of them or none. Resolves with each statement's result. */
  transaction(statements: SqlStatement[]): Promise<SqlResult[]>;
  /** A DateTime column value as this provider stores it. */
  time(ms: number): SqlValue;
}

export function createSqliteDriver(db: Database.Database): SqlDriver {
  const cache = new Map<string, Database.Statement>();
  const prepare = (sql: string) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      if (cache.size > 200) cache.clear();
      cache.set(sql, stmt);
    }
    return stmt;
  };
  const bind = (params: SqlValue[]) => params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p instanceof Date ? p.getTime() : p));
  const NO_ROWS: SqlRow[] = [];
  const runAll = db.transaction((statements: SqlStatement[]) => {
    const results: SqlResult[] = [];
    for (const s of statements) {
      const stmt = prepare(s.sql);
      // `reader`: the statement returns rows (RETURNING), which run() would discard.
      if (stmt.reader) {
        const rows = stmt.all(bind(s.params)) as SqlRow[];
        results.push({ rows, changes: rows.length, lastInsertId: null });
      } else {
        const info = stmt.run(bind(s.params));
        results.push({ rows: NO_ROWS, changes: info.changes, lastInsertId: Number(info.lastInsertRowid) });
      }
    }
    return results;
  });
  return {
    provider: 'sqlite',
    async query<T>(sql: string, params: SqlValue[] = []) {
      return prepare(sql).all(bind(params)) as T[];
    },
    async execute(sql, params = []) {
      return prepare(sql).run(bind(params)).changes;
    },
    async transaction(statements) {
      // Prisma shares this connection; a batch must never land inside one of
      // its interactive transactions (a rollback there would take it along).
      while (db.inTransaction) await new Promise((r) => setTimeout(r, 2));
      return runAll.immediate(statements);
    },
    time: (ms) => ms,
  };
}

export function createPostgresDriver(pool: pg.Pool): SqlDriver {
  const toPg = (sql: string) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  const cache = new Map<string, string>();
  const text = (sql: string) => {
    let t = cache.get(sql);
    if (t === undefined) {
      t = toPg(sql);
      if (cache.size > 200) cache.clear();
      cache.set(sql, t);
    }
    return t;
  };
  return {
    provider: 'postgres',
    async query<T>(sql: string, params: SqlValue[] = []) {
      return (await pool.query(text(sql), params)).rows as T[];
    },
    async execute(sql, params = []) {
      return (await pool.query(text(sql), params)).rowCount ?? 0;
    },
    async transaction(statements) {
      const { client, release } = await checkOut(pool);
      let broken = false;
      try {
        const xid = await beginWithId(client);
        const results: SqlResult[] = [];
        for (const s of statements) {
          const res = await client.query(text(s.sql), s.params);
          results.push({ rows: res.rows as SqlRow[], changes: res.rowCount ?? 0, lastInsertId: null });
        }
        // A lost COMMIT answer is resolved before the caller (which retries key state changes) sees an error.
        broken = (await commitOrResolve(client, xid, { pool, waitMs: COMMIT_RESOLVE_WAIT_MS })) === 'committed-after-loss';
        return results;
      } catch (error) {
        broken = true;
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        // A connection that failed mid-transaction may be dead: the pool opens a fresh one.
        release(broken);
      }
    },
    time: (ms) => new Date(ms),
  };
}
