import { Worker } from 'node:worker_threads';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlDriver, SqlStatement, SqlValue } from './sql-driver.ts';

export interface SqlWorkerData {
  file: string;
  busyTimeoutMs: number;
}
export type SqlWorkerRequest =
  | { id: number; op: 'query' | 'execute'; sql: string; params: SqlValue[] }
  | { id: number; op: 'transaction'; statements: SqlStatement[] };
export type SqlWorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; message: string; code: string | null };

/** An error the worker's statement raised, with its SQLite code. */
export class SqlWorkerError extends Error {
  constructor(message: string, readonly code: string | null) {
    super(message);
  }
}

/** Worker threads run JavaScript: the built file, also when this module is loaded from src (vitest). */
function workerFile(moduleUrl: string = import.meta.url): string {
  const here = dirname(fileURLToPath(moduleUrl));
  if (basename(dirname(here)) === 'src') return join(resolve(here, '..', '..'), 'dist', 'db', 'sql-worker.js');
  return join(here, 'sql-worker.js');
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type Request = { op: 'query' | 'execute'; sql: string; params: SqlValue[] } | { op: 'transaction'; statements: SqlStatement[] };

/**
 * A SqlDriver whose statements run on a worker thread's own SQLite
 * connection, so a database locked by another process stalls the caller's
 * promise, not the event loop (better-sqlite3 waits for a lock synchronously).
 * Used for the key-state writes that happen while the proxy serves. The
 * worker starts on first use and again after it died.
 */
export function createWorkerSqlDriver(file: string, busyTimeoutMs: number): SqlDriver & { close(): Promise<void> } {
  let worker: Worker | null = null;
  let nextId = 0;
  const pending = new Map<number, Pending>();

  const failAll = (error: Error) => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  const spawn = (): Worker => {
    const w = new Worker(workerFile(), { workerData: { file, busyTimeoutMs } satisfies SqlWorkerData });
    w.on('message', (reply: SqlWorkerReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) w.unref();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new SqlWorkerError(reply.message, reply.code));
    });
    w.on('error', (error) => failAll(error));
    w.on('exit', () => {
      if (worker === w) worker = null;
      failAll(new Error('the SQL worker exited'));
    });
    // Idle, it must not keep the process alive; while a statement is pending it must.
    w.unref();
    return w;
  };
  const send = <T>(request: Request): Promise<T> =>
    new Promise<T>((resolvePromise, reject) => {
      worker ??= spawn();
      const id = ++nextId;
      pending.set(id, { resolve: resolvePromise as (value: unknown) => void, reject });
      if (pending.size === 1) worker.ref();
      worker.postMessage({ id, ...request } as SqlWorkerRequest);
    });

  return {
    provider: 'sqlite',
    query: <T>(sql: string, params: SqlValue[] = []) => send<T[]>({ op: 'query', sql, params }),
    execute: (sql, params = []) => send<number>({ op: 'execute', sql, params }),
    transaction: (statements) => send({ op: 'transaction', statements }),
    time: (ms) => ms,
    async close() {
      const w = worker;
      worker = null;
      if (!w) return;
      const exited = new Promise((r) => w.once('exit', r));
      // An idle worker is unref'd; waiting for its exit must keep the process alive (a failed start has nothing else to).
      w.ref();
      w.postMessage({ op: 'close' });
      await exited;
    },
  };
}
