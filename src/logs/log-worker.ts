// The log writer's worker thread: its own database connection, redaction
// (pure, off the main thread), and the transactions of each `write` message.
// It never throws out of a message: every write is answered, stored or failed.

import { parentPort, workerData } from 'node:worker_threads';
import { S_ERROR, S_MODEL, S_PATH, S_REQUEST_BODY, S_RESPONSE_BODY, unpackEntries, type PackedRows } from './log-chunk.ts';
import { toStoredRow } from './log-entry.ts';
import type { FromLogWorker, LogWorkerData, StoredChunk, ToLogWorker } from './log-protocol.ts';
import type { StoredRow } from './log-sql.ts';
import { openLogStore, type LogStore } from './log-store.ts';
import { createRedactor } from './redact.ts';

const port = parentPort;
if (port === null) throw new Error('log-worker runs as a worker thread');
const data = workerData as LogWorkerData;
const redactor = createRedactor();
let store: LogStore | null = null;
try {
  // Connect now rather than on the first batch; a failure here is retried by that batch.
  store = openLogStore(data.target, data.busyTimeoutMs);
  void store.warm().catch(() => {});
} catch {
  store = null;
}
const post = (message: FromLogWorker) => port.postMessage(message);

/** Free-text columns that redaction and clipping may change. */
const TEXT_COLUMN_INDEX = { path: S_PATH, error: S_ERROR, model: S_MODEL, requestBody: S_REQUEST_BODY, responseBody: S_RESPONSE_BODY } as const;
const TEXT_COLUMNS = Object.entries(TEXT_COLUMN_INDEX) as ReadonlyArray<[keyof typeof TEXT_COLUMN_INDEX, number]>;

/** Redacted rows, and what changed against the queued text (the main thread publishes from its own copy). */
function storedRows(p: PackedRows): { rows: StoredRow[]; changed: (number | string | null)[]; chars: number } {
  const rows: StoredRow[] = [];
  let chars = 0;
  const changed: (number | string | null)[] = [];
  const entries = unpackEntries(p);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const row = toStoredRow(entry, redactor);
    for (const [field] of TEXT_COLUMNS) {
      if (row[field] !== entry[field]) changed.push(i, TEXT_COLUMN_INDEX[field], row[field] as string | null);
    }
    rows.push(row);
    chars += (row.requestBody?.length ?? 0) + (row.responseBody?.length ?? 0) + row.path.length + (row.error?.length ?? 0);
  }
  return { rows, changed, chars };
}

/**
 * Rows per transaction: a flush's chunks share transactions up to this size
 * (128-row transactions cost 7.5 µs a row against 5.6 at 1,024, measured with
 * the table's indexes), while a backlog is still stored in slices that hold
 * the write lock for milliseconds, not seconds.
 */
const ROWS_PER_TRANSACTION = 2048;
/**
 * Text per transaction (characters, about bytes): thousands of rows with large
 * logged bodies must not make one huge transaction, which a nearly full disk
 * could never take however often it is retried.
 */
const CHARS_PER_TRANSACTION = 8 * 1024 * 1024;

async function write(m: Extract<ToLogWorker, { type: 'write' }>): Promise<void> {
  const results: (StoredChunk | null)[] = m.chunks.map(() => null);
  let usageStored = false;
  let error: { message: string; code: string | null } | null = null;
  try {
    store ??= openLogStore(data.target, data.busyTimeoutMs);
    const prepared = m.chunks.map(storedRows);
    for (let first = 0; first < prepared.length || (first === 0 && m.usage !== null); ) {
      // Whole chunks per transaction, at least one.
      let last = first;
      let rows = prepared.length > 0 ? prepared[first].rows.length : 0;
      let chars = prepared.length > 0 ? prepared[first].chars : 0;
      while (last + 1 < prepared.length && rows + prepared[last + 1].rows.length <= ROWS_PER_TRANSACTION && chars + prepared[last + 1].chars <= CHARS_PER_TRANSACTION) {
        rows += prepared[++last].rows.length;
        chars += prepared[last].chars;
      }
      const slice = prepared.slice(first, last + 1);
      const { ids, rejected } = await store.write(slice.flatMap((p) => p.rows), first === 0 ? m.usage : null, m.safe);
      if (first === 0) usageStored = true;
      let at = 0;
      slice.forEach((p, k) => {
        const mine = rejected.filter((r) => r.index >= at && r.index < at + p.rows.length);
        const dropped = mine.map((r) => ({ row: r.index - at, requestId: p.rows[r.index - at].requestId, message: r.message, code: r.code }));
        results[first + k] = { ids: ids.slice(at, at + p.rows.length), changed: p.changed, rejected: dropped };
        at += p.rows.length;
      });
      first = last + 1;
    }
  } catch (caught) {
    const e = caught as { message?: unknown; code?: unknown };
    error = { message: String(e?.message ?? caught), code: typeof e?.code === 'string' ? e.code : null };
  }
  post({ type: 'written', seq: m.seq, chunks: results, usageStored, error });
}

// Messages are handled strictly one after another (a write awaits the database on PostgreSQL).
let chain: Promise<void> = Promise.resolve();
port.on('message', (m: ToLogWorker) => {
  // Not chained: a write waiting out a lost COMMIT's answer must hear that the gateway is closing.
  if (m.type === 'closing') return store?.interrupt();
  chain = chain.then(async () => {
    if (m.type === 'write') return write(m);
    await store?.close().catch(() => {});
    store = null;
    post({ type: 'closed' });
    port.close();
  });
});
