// The connection the lease heartbeat uses. On SQLite the gateway's own
// connection is synchronous (better-sqlite3 on the main thread): a heartbeat
// waiting there on a database another process has locked would block the
// event loop for the whole busy timeout. So the lease gets its own connection
// that gives up at once (the next beat tries again); PostgreSQL's pool is
// asynchronous and is shared.

import Database from 'better-sqlite3';
import type { Db } from '../db/client.ts';
import { createSqliteDriver, type SqlDriver } from '../db/sql-driver.ts';

/** Milliseconds the lease's SQLite connection waits on a lock before failing the statement. */
const SQLITE_LEASE_BUSY_MS = 20;

export function openLeaseConnection(db: Db): { sql: SqlDriver; close(): void } {
  if (db.target.provider !== 'sqlite') return { sql: db.sql, close() {} };
  const connection = new Database(db.target.file, { timeout: SQLITE_LEASE_BUSY_MS });
  return { sql: createSqliteDriver(connection), close: () => connection.close() };
}
