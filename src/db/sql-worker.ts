// The worker behind createWorkerSqlDriver: its own SQLite connection, one
// message at a time. A statement that waits for a lock held by another
// process (a backup, the sqlite3 CLI) waits here, for up to the busy timeout,
// instead of on the gateway's event loop.

import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { createSqliteDriver } from './sql-driver.ts';
import type { SqlWorkerData, SqlWorkerReply, SqlWorkerRequest } from './worker-sql-driver.ts';

const port = parentPort;
if (port === null) throw new Error('sql-worker runs as a worker thread');
const { file, busyTimeoutMs } = workerData as SqlWorkerData;
const db = new Database(file, { timeout: busyTimeoutMs });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
const sql = createSqliteDriver(db);

async function run(m: SqlWorkerRequest): Promise<unknown> {
  switch (m.op) {
    case 'query':
      return sql.query(m.sql, m.params);
    case 'execute':
      return sql.execute(m.sql, m.params);
    case 'transaction':
      return sql.transaction(m.statements);
  }
}

port.on('message', (m: SqlWorkerRequest | { op: 'close' }) => {
  if (m.op === 'close') {
    db.close();
    port.close();
    return;
  }
  // better-sqlite3 is synchronous: messages run strictly one after another.
  run(m).then(
    (result) => port.postMessage({ id: m.id, ok: true, result } satisfies SqlWorkerReply),
    (caught: { message?: unknown; code?: unknown }) =>
      port.postMessage({ id: m.id, ok: false, message: String(caught?.message ?? caught), code: typeof caught?.code === 'string' ? caught.code : null } satisfies SqlWorkerReply),
  );
});
