// The batched request-log writer. The proxy calls enqueue() and returns at
// once; the entry is copied into a columnar chunk. Soon after (see
// schedule()) and on close, the queued chunks and the usage counters go, in
// one message, to a worker thread (log-worker.ts) that redacts them and
// stores them on its own database connection; its answer (the new ids) is
// published here as `requestLog:created`. The main thread never waits on
// the database: a locked SQLite file stalls the worker, not the proxy. The
// queue is bounded: when the database cannot keep up, the oldest rows are
// dropped (counted, warned), never the usage counts, which live apart.

import { Worker } from 'node:worker_threads';
import type { DatabaseTarget } from '../db/database-url.ts';
import type { EventBus } from '../events/bus.ts';
import type { UsageCounters } from '../keys/usage-counters.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import { LogChunk, publishedRow, S_KEY_ID, S_UPSTREAM_ID } from './log-chunk.ts';
import { RejectedRows } from './rejected-rows.ts';
import type { LogEntry } from './log-entry.ts';
import type { FromLogWorker, LogWorkerData, ToLogWorker } from './log-protocol.ts';
import { logWorkerFile } from './worker-file.ts';

export interface LogWriterDeps {
  target: DatabaseTarget;
  events: EventBus;
  state: GatewayState;
  usage: UsageCounters;
  log: Logger;
  flushMs: number;
  queueMax: number;
  /** How long the worker's connection waits on a locked SQLite database before a batch fails (and is retried). */
  busyTimeoutMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/** Rows per chunk (the queue's unit; the worker joins chunks into transactions). */
const CHUNK_ROWS = 512;
const MIN_CHUNK_ROWS = 16;
/** A flush sends at most this many rows; the next one follows at once while the queue is long. */
const MAX_ROWS_PER_FLUSH = 8192;
/** A flush also stops at this much text (characters, about bytes), so large bodies make smaller batches. */
const MAX_CHARS_PER_FLUSH = 16 * 1024 * 1024;
const WARN_EVERY_MS = 10_000;
/** After a quiet spell, the first row waits this long for company before it is written. */
const GATHER_MS = 5;

type Reply = Exclude<FromLogWorker, { type: 'closed' }>;

export class LogWriter {
  private queue: LogChunk[] = [];
  private queued = 0;
  /** Rows per flush lately: sizes the next chunk, so a quiet gateway does not allocate 512-row chunks. */
  private chunkRows = MIN_CHUNK_ROWS;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private followUp: Promise<void> | null = null;
  /** After a failed batch: reference rows by subquery so a concurrent delete cannot fail it again. */
  private safeMode = false;
  private readonly lastWarnAt = new Map<string, number>();
  private closed = false;
  private started = false;
  private lastFlushAt = 0;
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, (reply: Reply) => void>();
  private seq = 0;
  /** Rows dropped because the queue was full. */
  dropped = 0;
  /** Rows handed to the worker and not answered yet. */
  private inFlight = 0;
  /** The last flush stopped at MAX_CHARS_PER_FLUSH with rows left. */
  private sizeCapped = false;
  private readonly refused: RejectedRows;
  /** Failed flush attempts (each retried). */
  failures = 0;

  constructor(private readonly deps: LogWriterDeps) {
    this.refused = new RejectedRows(deps.log);
  }

  /** Rows the database refused on their own, left out of their batch (see row-isolation.ts). */
  get rejected(): number {
    return this.refused.count;
  }

  /** Rows not stored yet: queued, and handed to the worker but not answered. */
  get depth(): number {
    return this.queued + this.inFlight;
  }

  /** Starts the worker now (its module load and connection take ~100 ms), so the first row is not late. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.worker ??= this.spawn();
    if (this.queued > 0) this.schedule();
  }

  enqueue(entry: LogEntry): void {
    let tail = this.queue.length > 0 ? this.queue[this.queue.length - 1] : null;
    if (tail === null || tail.full) this.queue.push((tail = new LogChunk(this.chunkRows)));
    tail.add(entry);
    if (++this.queued > this.deps.queueMax) this.dropOldest(Math.max(1, this.deps.queueMax >> 3));
    if (this.timer === null && this.started && !this.closed) this.schedule();
  }

  /**
   * Live dashboards want a request's log event at once; the database wants
   * rows in batches. So a row after a quiet spell is written within GATHER_MS,
   * while under steady traffic flushes come at most every flushMs, each
   * carrying everything that arrived meanwhile.
   */
  private schedule(): void {
    const wait = Math.min(this.deps.flushMs, Math.max(GATHER_MS, this.lastFlushAt + this.deps.flushMs - Date.now()));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, wait);
    this.timer.unref();
  }

  /**
   * Stores what is queued now (and the usage counted so far); resolves when
   * done or failed (failures are retried later). A call during a flush waits
   * for it and then runs one more, which covers what arrived meanwhile.
   */
  flush(): Promise<void> {
    if (this.flushing !== null) {
      this.followUp ??= this.flushing.then(() => {
        this.followUp = null;
        return this.flush();
      });
      return this.followUp;
    }
    this.flushing = this.flushOnce().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Stops the timer, stores everything left (a few tries), then closes the worker's connection. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.worker?.postMessage({ type: 'closing' } satisfies ToLogWorker); // stops waiting on a lost COMMIT's answer
    for (let tries = 0; tries < 5 && (this.queued > 0 || this.deps.usage.pending || this.flushing !== null); ) {
      const failuresBefore = this.failures;
      await this.flush();
      if (this.failures > failuresBefore) tries++;
    }
    if (this.queued > 0 || this.deps.usage.pending) this.deps.log.error({ rows: this.queued }, 'request log and usage could not be stored before shutdown');
    await this.stopWorker();
  }

  private dropOldest(n: number): void {
    let left = n;
    while (left > 0 && this.queue.length > 0) {
      const head = this.queue[0];
      const take = Math.min(left, head.count);
      if (take === head.count) this.queue.shift();
      else head.dropFirst(take);
      left -= take;
      this.queued -= take;
      this.dropped += take;
    }
    this.warn({ dropped: this.dropped, queueMax: this.deps.queueMax }, 'request log queue full; dropped the oldest rows');
  }

  /** At most one warning of each kind per WARN_EVERY_MS (a full queue must not hide failing writes, nor the reverse). */
  private warn(fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - (this.lastWarnAt.get(message) ?? 0) < WARN_EVERY_MS) return;
    this.lastWarnAt.set(message, now);
    this.deps.log.warn(fields, message);
  }

  private async flushOnce(): Promise<void> {
    this.lastFlushAt = Date.now();
    try {
      const rows = await this.writeQueued();
      if (this.queued > 0 && !this.closed && (rows >= MAX_ROWS_PER_FLUSH || this.sizeCapped)) setImmediate(() => void this.flush());
    } finally {
      // What arrived during the write, or what a failed write put back, goes with the next flush.
      if ((this.queued > 0 || this.deps.usage.pending) && this.timer === null && this.started && !this.closed) this.schedule();
    }
  }

  /** Sends up to MAX_ROWS_PER_FLUSH queued rows (and the usage) in one message; the rows taken. */
  private async writeQueued(): Promise<number> {
    const chunks: LogChunk[] = [];
    let rows = 0;
    let chars = 0;
    while (this.queue.length > 0 && rows < MAX_ROWS_PER_FLUSH && (chunks.length === 0 || chars + this.queue[0].chars <= MAX_CHARS_PER_FLUSH)) {
      const chunk = this.queue.shift()!;
      rows += chunk.count;
      chars += chunk.chars;
      chunks.push(chunk);
    }
    this.sizeCapped = this.queue.length > 0 && rows < MAX_ROWS_PER_FLUSH;
    this.queued -= rows;
    this.chunkRows = Math.min(CHUNK_ROWS, Math.max(MIN_CHUNK_ROWS, 1 << Math.ceil(Math.log2(Math.max(1, rows)))));
    const usage = this.deps.usage.drain();
    if (chunks.length === 0 && usage === null) return 0;
    const { state } = this.deps;
    const packed = chunks.map((chunk) => {
      chunk.detach((column, id) => (column === S_KEY_ID ? state.keys.has(id) : column === S_UPSTREAM_ID ? state.upstreamsById.has(id) : state.tokensById.has(id)));
      return chunk.packed();
    });
    const seq = ++this.seq;
    const replied = new Promise<Reply>((resolve) => this.waiting.set(seq, resolve));
    this.post({ type: 'write', seq, chunks: packed, usage, safe: this.safeMode });
    this.inFlight += rows;
    const reply = await replied.finally(() => (this.inFlight -= rows));
    if (usage !== null) {
      if (reply.usageStored) this.deps.usage.settle(usage);
      else this.deps.usage.restore(usage);
    }
    const putBack: LogChunk[] = [];
    chunks.forEach((chunk, i) => {
      const stored = reply.chunks[i] ?? null;
      if (stored === null) putBack.push(chunk);
      else {
        if (stored.rejected.length > 0) this.refused.report(stored.rejected);
        this.publish(chunk, stored.ids, stored.changed);
      }
    });
    if (reply.error === null) {
      this.safeMode = false;
      return rows;
    }
    this.failures++;
    this.safeMode = true;
    this.putBack(putBack);
    this.warn({ err: reply.error, rows: putBack.reduce((n, c) => n + c.count, 0), queued: this.queued }, 'storing request logs failed; will retry');
    return rows;
  }

  private publish(chunk: LogChunk, ids: number[], changed: (number | string | null)[]): void {
    // Most of the time no dashboard is open: no row objects, no events.
    if (!this.deps.events.hasSubscribers('requestLog:created')) return;
    let byRow: Map<number, Map<number, string | null>> | null = null;
    for (let i = 0; i < changed.length; i += 3) {
      byRow ??= new Map();
      const row = changed[i] as number;
      let m = byRow.get(row);
      if (m === undefined) byRow.set(row, (m = new Map()));
      m.set(changed[i + 1] as number, changed[i + 2] as string | null);
    }
    for (let i = 0; i < chunk.count; i++) if (ids[i] !== 0) this.deps.events.publish('requestLog:created', publishedRow(chunk, i, ids[i], byRow?.get(i)));
  }

  private putBack(chunks: LogChunk[]): void {
    if (chunks.length === 0) return;
    this.queue = chunks.concat(this.queue);
    for (const c of chunks) this.queued += c.count;
    const over = this.queued - this.deps.queueMax;
    if (over > 0) this.dropOldest(over);
  }

  private post(message: ToLogWorker): void {
    const worker = (this.worker ??= this.spawn());
    // Referenced only while it owes answers: an idle writer does not keep the process alive.
    worker.ref();
    worker.postMessage(message);
  }

  private spawn(): Worker {
    const data: LogWorkerData = { target: this.deps.target, busyTimeoutMs: this.deps.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS };
    const worker = new Worker(logWorkerFile(), { workerData: data });
    worker.on('message', (m: FromLogWorker) => {
      if (m.type === 'closed') return;
      const resolve = this.waiting.get(m.seq);
      this.waiting.delete(m.seq);
      if (this.waiting.size === 0) worker.unref();
      resolve?.(m);
    });
    worker.unref();
    worker.on('error', (error) => this.deps.log.error({ err: error }, 'request log worker failed'));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = null;
      // Writes it never answered failed before their commit, or (if it died in
      // the instant between commit and answer) are stored twice on retry: the
      // worker catches every error, so only a fatal one (out of memory) gets here.
      for (const [seq, resolve] of this.waiting) resolve({ type: 'written', seq, chunks: [], usageStored: false, error: { message: 'log worker exited', code: null } });
      this.waiting.clear();
    });
    return worker;
  }

  private async stopWorker(): Promise<void> {
    const worker = this.worker;
    if (worker === null) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref();
    worker.postMessage({ type: 'close' } satisfies ToLogWorker);
    await exited;
  }
}
