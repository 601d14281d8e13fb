import { setTimeout as sleep } from 'node:timers/promises';
import type { JobCounts } from '../messages.ts';
import type { JobContext } from '../worker-runtime.ts';

// A DELETE holds SQLite's write lock for as long as it runs, and the main
// thread's log writer waits for that lock (busy timeout) on the event loop:
// the length of one statement is the latency the proxy can feel. So each
// statement deletes one id range sized to take about TARGET_MS, and the job
// sleeps twice as long before the next, leaving the lock free two thirds of
// the time: a log flush meets a running DELETE less often, and waits less.
const TARGET_MS = 10;
const PAUSE_FACTOR = 2;
const MIN_ROWS = 100;
const MAX_ROWS = 10_000;
const CHECKPOINT_EVERY = 25; // batches between PASSIVE checkpoints (SQLite)
const PROGRESS_EVERY = 50;

const TABLES = ['RequestLog', 'RequestLogMinute', 'RequestLogKeyMinute', 'KeyEvent', 'JobRun', 'NotificationDelivery', 'Alert'] as const;
type Table = (typeof TABLES)[number];
const TIME_COLUMN: Record<Table, string> = {
  RequestLog: 'createdAt',
  RequestLogMinute: 'minute',
  RequestLogKeyMinute: 'minute',
  KeyEvent: 'createdAt',
  JobRun: 'startedAt',
  NotificationDelivery: 'createdAt',
  Alert: 'createdAt',
};
const COUNT_NAME: Record<Table, string> = {
  RequestLog: 'requestLogsDeleted',
  RequestLogMinute: 'requestLogMinutesDeleted',
  RequestLogKeyMinute: 'requestLogKeyMinutesDeleted',
  KeyEvent: 'keyEventsDeleted',
  JobRun: 'jobRunsDeleted',
  NotificationDelivery: 'notificationDeliveriesDeleted',
  Alert: 'alertsDeleted',
};

/**
 * Deletes request logs (and their per-minute rollups), key events, job runs, notification deliveries and
 * alerts older than the retention in
 * bounded batches: `DELETE … WHERE id >= ? AND id < ? AND createdAt < cutoff`
 * walks the id range of the old rows (ids grow with time, so the range is
 * tight; the time condition keeps any younger row inside it). On SQLite the
 * WAL is checkpointed (PASSIVE) as it goes and truncated at the end, so the
 * deletes do not leave a WAL the size of everything they removed.
 */
export async function cleanupOldRows(ctx: JobContext): Promise<JobCounts> {
  const { sql } = ctx.db;
  const { retentionDays, cleanupBatchRows } = ctx.run.settings;
  // On a whole minute: a minute's rollup rows (RequestLogMinute, RequestLogKeyMinute) go with exactly the rows they count.
  const cutoffMs = Date.now() - retentionDays * 86_400_000;
  const cutoff = sql.time(cutoffMs - (cutoffMs % 60_000));
  const sqlite = sql.provider === 'sqlite';
  const counts: Record<string, number> = { batches: 0, checkpoints: 0 };
  let size = Math.min(Math.max(cleanupBatchRows, MIN_ROWS), MAX_ROWS);
  let slowestMs = 0;

  for (const table of TABLES) {
    const column = TIME_COLUMN[table];
    counts[COUNT_NAME[table]] = 0;
    const [range] = await sql.query<{ lo: number | null; hi: number | null }>(
      `SELECT MIN("id") AS "lo", MAX("id") AS "hi" FROM "${table}" WHERE "${column}" < ?`,
      [cutoff],
    );
    if (range?.lo == null || range.hi == null) continue;
    for (let start = Number(range.lo), hi = Number(range.hi); start <= hi && !ctx.cancelled(); ) {
      const end = start + size;
      const began = performance.now();
      counts[COUNT_NAME[table]]! += await sql.execute(`DELETE FROM "${table}" WHERE "id" >= ? AND "id" < ? AND "${column}" < ?`, [start, end, cutoff]);
      const tookMs = performance.now() - began;
      slowestMs = Math.max(slowestMs, tookMs);
      start = end;
      counts.batches!++;
      // Halve quickly when a batch ran long, grow slowly when it was short.
      if (tookMs > TARGET_MS * 1.5) size = Math.max(MIN_ROWS, Math.floor(size / 2));
      else if (tookMs < TARGET_MS / 2) size = Math.min(MAX_ROWS, Math.floor(size * 1.25));
      if (sqlite && counts.batches! % CHECKPOINT_EVERY === 0) {
        await sql.query('PRAGMA wal_checkpoint(PASSIVE)');
        counts.checkpoints!++;
      }
      if (counts.batches! % PROGRESS_EVERY === 0) ctx.post({ type: 'progress', counts: { ...counts } });
      await sleep(Math.max(2, tookMs * PAUSE_FACTOR));
    }
  }
  if (sqlite) {
    // TRUNCATE waits for readers (busy timeout) and shrinks the WAL file to zero; fine here, off the main thread.
    // The request-log worker writes all the while, so a busy checkpoint is tried again after a short pause.
    let busy = true;
    for (let attempt = 0; attempt < 10 && busy; attempt++) {
      if (attempt > 0) await sleep(50);
      const [result] = await sql.query<{ busy: number }>('PRAGMA wal_checkpoint(TRUNCATE)');
      counts.checkpoints!++;
      busy = !!result?.busy;
    }
    if (busy) counts.walTruncateBusy = 1;
  }
  return { ...counts, retentionDays, slowestBatchMs: Math.round(slowestMs * 10) / 10, lastBatchRows: size };
}
