// The log writer's worker thread: its own database connection, redaction
// (pure, off the main thread), and one transaction per `write` message. It
// never throws out of a message: every write is answered, stored or failed.

import { parentPort, workerData } from 'node:worker_threads';
import { S_ERROR, S_MODEL, S_PATH, S_REQUEST_BODY, S_RESPONSE_BODY, unpackEntries, type PackedRows } from './log-chunk.ts';
import { toStoredRow } from './log-entry.ts';
import type { FromLogWorker, LogWorkerData, ToLogWorker } from './log-protocol.ts';
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
let failedGroup = -1;
const post = (message: FromLogWorker) => port.postMessage(message);

/** Free-text columns that redaction and clipping may change. */
const TEXT_COLUMN_INDEX = { path: S_PATH, error: S_ERROR, model: S_MODEL, requestBody: S_REQUEST_BODY, responseBody: S_RESPONSE_BODY } as const;
const TEXT_COLUMNS = Object.entries(TEXT_COLUMN_INDEX) as ReadonlyArray<[keyof typeof TEXT_COLUMN_INDEX, number]>;

/** Redacted rows, and what changed against the queued text (the main thread publishes from its own copy). */
function storedRows(p: PackedRows | null): { rows: StoredRow[]; changed: (number | string | null)[] } {
  const rows: StoredRow[] = [];
  const changed: (number | string | null)[] = [];
  if (p === null) return { rows, changed };
  const entries = unpackEntries(p);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const row = toStoredRow(entry, redactor);
    for (const [field] of TEXT_COLUMNS) {
      if (row[field] !== entry[field]) changed.push(i, TEXT_COLUMN_INDEX[field], row[field] as string | null);
    }
    rows.push(row);
  }
  return { rows, changed };
}

async function write(m: Extract<ToLogWorker, { type: 'write' }>): Promise<void> {
  if (m.group === failedGroup) {
    post({ type: 'failed', seq: m.seq, message: 'an earlier write of this flush failed', code: null, tried: false });
    return;
  }
  let ids: number[];
  let changed: (number | string | null)[];
  try {
    store ??= openLogStore(data.target, data.busyTimeoutMs);
    const stored = storedRows(m.rows);
    changed = stored.changed;
    ids = await store.write(stored.rows, m.usage, m.safe);
  } catch (error) {
    failedGroup = m.group;
    const e = error as { message?: unknown; code?: unknown };
    post({ type: 'failed', seq: m.seq, message: String(e?.message ?? error), code: typeof e?.code === 'string' ? e.code : null, tried: true });
    return;
  }
  post({ type: 'written', seq: m.seq, ids, changed });
}

// Messages are handled strictly one after another (a write awaits the database on PostgreSQL).
let chain: Promise<void> = Promise.resolve();
port.on('message', (m: ToLogWorker) => {
  chain = chain.then(async () => {
    if (m.type === 'write') return write(m);
    await store?.close().catch(() => {});
    store = null;
    post({ type: 'closed' });
    port.close();
  });
});
