import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase, type Db } from '../db/client.ts';
import { tryAdvisoryLock, type AdvisoryLock } from './advisory-lock.ts';
import { runDataSchema, type JobCounts, type RunData, type WorkerMessage } from './messages.ts';

export interface JobContext {
  db: Db;
  run: RunData;
  /** Posts a typed message to the main thread. */
  post(message: WorkerMessage): void;
  /** True once the gateway asked the job to stop (shutdown); long jobs check it between batches. */
  cancelled(): boolean;
}

export type JobBody = (ctx: JobContext) => Promise<JobCounts>;

/**
 * The frame every job file runs in: read the run's input, open a database
 * client of its own (SQLite's busy timeout applies to it like to any
 * connection), take the job's advisory lock on PostgreSQL, run the body, post
 * `{type:'done', counts}`, then close everything in `finally` and post Bree's
 * 'done'. A body that throws is not caught: the worker dies with the error,
 * Bree reports it, and the main thread records the run as FAILED.
 */
export async function runJobWorker(body: JobBody): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('a job file runs inside a Bree worker thread');
  const run = runDataSchema.parse((workerData as { run?: unknown }).run);
  let cancelled = false;
  const onMessage = (message: unknown) => {
    if (message === 'cancel') cancelled = true;
  };
  port.on('message', onMessage);
  const post = (message: WorkerMessage) => port.postMessage(message);

  const db = await openDatabase(run.database);
  let lock: AdvisoryLock | null = null;
  let finished = false;
  try {
    if (run.database.provider === 'postgres') {
      lock = await tryAdvisoryLock(run.database.url, run.job);
      if (!lock) {
        post({ type: 'done', counts: { skipped: 'another instance holds this job\'s advisory lock' } });
        finished = true;
        return;
      }
    }
    const counts = await body({ db, run, post, cancelled: () => cancelled });
    post({ type: 'done', counts: cancelled ? { ...counts, cancelled: true } : counts });
    finished = true;
  } finally {
    await lock?.release().catch(() => {});
    await db.close();
    port.off('message', onMessage);
    // Bree's 'done' terminates the thread at once; after a failure the error
    // must reach Bree first, so only a finished run says it.
    if (finished) port.postMessage('done');
  }
}
