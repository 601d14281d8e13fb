// The log writer worker's own database connection and its one transaction
// per batch: the request-log rows, then the usage deltas. A quota reset may
// race a batch (see usage-counters.ts): the worker reads the snapshot's
// discard flags while it holds the write lock on the counted rows, so either
// the reset already ran (flag seen: that quota is left out) or the reset waits
// for this commit and overwrites it. SQLite's BEGIN IMMEDIATE takes the lock
// before anything else; on PostgreSQL an UPDATE locks its row, so the flags
// are read after the UPDATEs and any quota added by mistake is taken back in
// the same transaction.

import Database from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseTarget } from '../db/database-url.ts';
import { beginWithId, checkOut, commitOrResolve, PG_POOL_OPTIONS } from '../db/pg-commit.ts';
import { U_COMPLETION, U_FAILURES, U_LAST_USED, U_PROMPT, U_QUOTA, U_REQUESTS, USAGE_FIELDS, type UsageSnapshot } from '../keys/usage-counters.ts';
import {
  COLUMN_COUNT, insertSql, keyUpdateSql, pgPlaceholder, PG_ROWS_PER_STATEMENT, putRowValues, quotaCompensationSql,
  sqlitePlaceholder, tokenUpdateSql, type RowValue, type StoredRow,
} from './log-sql.ts';
import { pgRollupWriter, sqliteRollupWriter } from './log-rollup-write.ts';
import { insertIsolating, insertIsolatingSync, Isolation, retryRejected, retryRejectedSync, type RejectedRow } from './row-isolation.ts';

export interface StoreResult {
  /** The new ids in row order; 0 for a rejected row. */
  ids: number[];
  /** Rows the database refused on their own (see row-isolation.ts); the others were stored. */
  rejected: RejectedRow[];
}

export interface LogStore {
  /** Stores rows and usage in one transaction, leaving out rows the database refuses alone. */
  write(rows: readonly StoredRow[], usage: UsageSnapshot | null, safe: boolean): Promise<StoreResult>;
  /** Opens the connection ahead of the first batch. */
  warm(): Promise<void>;
  /** Shutdown: stop waiting for the database to say whether a batch whose COMMIT answer was lost committed. */
  interrupt(): void;
  close(): Promise<void>;
}

/**
 * Rows per SQLite INSERT: one statement per 32 rows binds and steps less than
 * 32 statements (measured 4.5 against 6.2 µs a row with the table's indexes).
 */
const SQLITE_ROWS_PER_INSERT = 32;

export function openLogStore(target: DatabaseTarget, busyTimeoutMs: number): LogStore {
  return target.provider === 'sqlite' ? openSqliteStore(target.file, busyTimeoutMs) : openPostgresStore(target.url);
}

const keyQuota = (u: UsageSnapshot, i: number) => (Atomics.load(u.discarded, i) === 0 ? u.keyNums[i * USAGE_FIELDS + U_QUOTA] : 0);

function keyParams(u: UsageSnapshot, i: number, quota: number, time: (ms: number) => RowValue): RowValue[] {
  const o = i * USAGE_FIELDS;
  const n = u.keyNums;
  const last = n[o + U_LAST_USED];
  return [quota, n[o + U_REQUESTS], n[o + U_FAILURES], n[o + U_PROMPT], n[o + U_COMPLETION], last > 0 ? time(last) : null, u.lastErrors[i], u.keyIds[i]];
}

function openSqliteStore(file: string, busyTimeoutMs: number): LogStore {
  const db = new Database(file, { timeout: busyTimeoutMs });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // A multi-row INSERT inside a transaction keeps a statement journal (the pages it
  // changes, to undo just that statement if a later row fails a constraint). On disk
  // that is a temporary file and two write() calls per page: 30% of a row's cost,
  // most of it in the kernel (npm run bench:log-store). This connection only inserts
  // and updates, so in memory it stays as small as one statement's pages.
  db.pragma('temp_store = MEMORY');
  // [plain, safe] single-row and SQLITE_ROWS_PER_INSERT-row statements.
  const single = [db.prepare(insertSql(1, false, sqlitePlaceholder, false)), db.prepare(insertSql(1, true, sqlitePlaceholder, false))];
  const multi = [db.prepare(insertSql(SQLITE_ROWS_PER_INSERT, false, sqlitePlaceholder, false)), db.prepare(insertSql(SQLITE_ROWS_PER_INSERT, true, sqlitePlaceholder, false))];
  const keyUpdate = db.prepare(keyUpdateSql(sqlitePlaceholder));
  const tokenUpdate = db.prepare(tokenUpdateSql(sqlitePlaceholder));
  const rollups = sqliteRollupWriter(db);
  const singleParams: RowValue[] = new Array(COLUMN_COUNT);
  const multiParams: RowValue[] = new Array(COLUMN_COUNT * SQLITE_ROWS_PER_INSERT);
  const time = (ms: number) => ms;
  const bool = (b: boolean) => (b ? 1 : 0);
  // Called inside the batch's transaction, better-sqlite3 runs this one under a savepoint.
  const insertRange = db.transaction((rows: readonly StoredRow[], from: number, to: number, mode: number, ids: number[]) => {
    let i = from;
    for (; i + SQLITE_ROWS_PER_INSERT <= to; i += SQLITE_ROWS_PER_INSERT) {
      for (let j = 0; j < SQLITE_ROWS_PER_INSERT; j++) putRowValues(multiParams, j * COLUMN_COUNT, rows[i + j], time, bool);
      const info = multi[mode].run(multiParams);
      // One statement's rows get consecutive ids (AUTOINCREMENT, and this transaction is the only writer); lastInsertRowid is the last.
      const last = Number(info.lastInsertRowid);
      if (info.changes !== SQLITE_ROWS_PER_INSERT) throw new Error(`inserted ${info.changes} request-log rows of ${SQLITE_ROWS_PER_INSERT}`);
      for (let j = 0; j < SQLITE_ROWS_PER_INSERT; j++) ids[i + j] = last - SQLITE_ROWS_PER_INSERT + 1 + j;
    }
    for (; i < to; i++) {
      putRowValues(singleParams, 0, rows[i], time, bool);
      ids[i] = Number(single[mode].run(singleParams).lastInsertRowid);
    }
  });
  const run = db.transaction((rows: readonly StoredRow[], usage: UsageSnapshot | null, safe: boolean): StoreResult => {
    const mode = safe ? 1 : 0;
    const ids: number[] = new Array(rows.length).fill(0);
    const iso = new Isolation(rows.length);
    const attempt = (from: number, to: number) => insertRange(rows, from, to, mode, ids);
    insertIsolatingSync(attempt, 0, rows.length, iso);
    retryRejectedSync(attempt, iso);
    const rejected = iso.rejected;
    for (const r of rejected) ids[r.index] = 0;
    rollups.write(rows, ids, safe);
    if (usage !== null) {
      // The write lock is held from BEGIN IMMEDIATE: a flag read now is final.
      for (let i = 0; i < usage.keyIds.length; i++) keyUpdate.run(keyParams(usage, i, keyQuota(usage, i), time));
      for (let i = 0; i < usage.tokenIds.length; i++) tokenUpdate.run(usage.tokenAt[i], usage.tokenIds[i]);
    }
    return { ids, rejected };
  });
  return {
    // Synchronous in this thread: a locked database blocks the worker (up to the busy timeout), never the proxy.
    write: async (rows, usage, safe) => {
      try {
        return run.immediate(rows, usage, safe);
      } catch (error) {
        rollups.forget();
        throw error;
      }
    },
    warm: async () => {},
    interrupt: () => {},
    close: async () => void db.close(),
  };
}

const PG_KEY_UPDATE = keyUpdateSql(pgPlaceholder);
const PG_COMPENSATE = quotaCompensationSql(pgPlaceholder);
const PG_TOKEN_UPDATE = tokenUpdateSql(pgPlaceholder);
const pgTime = (ms: number) => new Date(ms);

/** The usage deltas, inside the batch's transaction. */
async function writePostgresUsage(client: pg.PoolClient, usage: UsageSnapshot): Promise<void> {
  const charged: number[] = [];
  for (let i = 0; i < usage.keyIds.length; i++) {
    const quota = keyQuota(usage, i);
    charged.push(quota);
    await client.query(PG_KEY_UPDATE, keyParams(usage, i, quota, pgTime));
  }
  // The UPDATEs hold the rows' locks: a reset flagged by now either ran before them (take the quota back) or waits for this commit.
  for (let i = 0; i < usage.keyIds.length; i++) {
    if (charged[i] > 0 && Atomics.load(usage.discarded, i) !== 0) await client.query(PG_COMPENSATE, [charged[i], usage.keyIds[i]]);
  }
  for (let i = 0; i < usage.tokenIds.length; i++) await client.query(PG_TOKEN_UPDATE, [pgTime(usage.tokenAt[i]), usage.tokenIds[i]]);
}

function openPostgresStore(url: string): LogStore {
  // Two: a batch whose COMMIT answer was lost asks about it on a second connection.
  const pool = new pg.Pool({ connectionString: url, max: 2, ...PG_POOL_OPTIONS });
  let interrupted = false;
  pool.on('error', () => {}); // an idle client's error must not kill the worker; the next batch reports it
  const time = pgTime;
  const bool = (b: boolean) => b;
  const rollups = pgRollupWriter();
  const sqlCache = new Map<string, string>();
  const insertText = (rows: number, safe: boolean) => {
    const id = `${rows}:${safe}`;
    let text = sqlCache.get(id);
    if (text === undefined) {
      if (sqlCache.size > 64) sqlCache.clear();
      sqlCache.set(id, (text = insertSql(rows, safe, pgPlaceholder, true)));
    }
    return text;
  };
  return {
    async write(rows, usage, safe) {
      const { client, release } = await checkOut(pool);
      let failed = false;
      try {
        const xid = await beginWithId(client);
        const ids: number[] = new Array(rows.length).fill(0);
        const iso = new Isolation(rows.length);
        const rejected = iso.rejected;
        const insertRange = async (from: number, to: number) => {
          await client.query('SAVEPOINT log_rows');
          try {
            for (let i = from; i < to; i += PG_ROWS_PER_STATEMENT) {
              const chunk = rows.slice(i, Math.min(to, i + PG_ROWS_PER_STATEMENT));
              const params: RowValue[] = new Array(chunk.length * COLUMN_COUNT);
              chunk.forEach((r, j) => putRowValues(params, j * COLUMN_COUNT, r, time, bool));
              const res = await client.query<{ id: number }>(insertText(chunk.length, safe), params);
              // Ids grow in VALUES order, but PostgreSQL does not promise RETURNING order.
              res.rows.map((r) => Number(r.id)).sort((a, b) => a - b).forEach((id, j) => (ids[i + j] = id));
            }
            await client.query('RELEASE SAVEPOINT log_rows');
          } catch (error) {
            await client.query('ROLLBACK TO SAVEPOINT log_rows');
            for (let i = from; i < to; i++) ids[i] = 0;
            throw error;
          }
        };
        await insertIsolating(insertRange, 0, rows.length, iso);
        await retryRejected(insertRange, iso);
        await rollups.write((text, params) => client.query(text, params), rows, ids, safe);
        if (usage !== null) await writePostgresUsage(client, usage);
        // A batch whose COMMIT answer was lost is stored exactly once: the server says
        // whether it committed (waiting out the outage), and only a batch that did not is retried.
        const committed = await commitOrResolve(client, xid, { pool, waitMs: Number.POSITIVE_INFINITY, stopped: () => interrupted });
        failed = committed === 'committed-after-loss';
        return { ids, rejected };
      } catch (error) {
        failed = true;
        rollups.forget();
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        // After a failure the connection may be broken: a fresh one serves the retry.
        release(failed);
      }
    },
    async warm() {
      (await pool.connect()).release();
    },
    interrupt() {
      interrupted = true;
    },
    close: () => pool.end(),
  };
}
