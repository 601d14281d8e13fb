// The batched request-log writer. The proxy calls enqueue() and returns at
// once; soon after (see schedule()) and on close the queued rows are redacted and stored
// together with the usage counters in one transaction, then published as
// `requestLog:created` with their ids. The queue is bounded: when the
// database cannot keep up, the oldest rows are dropped (counted, warned),
// never the usage counts, which live apart from the queue.

import type { SqlDriver } from '../db/sql-driver.ts';
import type { EventBus } from '../events/bus.ts';
import type { UsageCounters, UsageSnapshot } from '../keys/usage-counters.ts';
import { usageStatements } from '../keys/usage-counters.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import { toStoredRow, type LogEntry } from './log-entry.ts';
import { insertedIds, insertStatements, type StoredRow } from './log-sql.ts';
import type { Redactor } from './redact.ts';

export interface LogWriterDeps {
  sql: SqlDriver;
  events: EventBus;
  state: GatewayState;
  usage: UsageCounters;
  redactor: Redactor;
  log: Logger;
  flushMs: number;
  queueMax: number;
}

/**
 * Rows per transaction. A SQLite transaction runs on the event loop (~10 µs a
 * row with the table's indexes), so a backlog is written in slices with I/O
 * let through in between instead of one long stall.
 */
const ROWS_PER_TRANSACTION = 512;
/** A flush stops after this many rows; the next one follows at once while the queue is long. */
const MAX_ROWS_PER_FLUSH = 8192;
const WARN_EVERY_MS = 10_000;
/** After a quiet spell, the first row waits this long for company before it is written. */
const GATHER_MS = 5;

export class LogWriter {
  private queue: LogEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private followUp: Promise<void> | null = null;
  /** After a failed batch: reference rows by subquery so a concurrent delete cannot fail it again. */
  private safeMode = false;
  private lastWarnAt = 0;
  private closed = false;
  private started = false;
  private lastFlushAt = 0;
  /** Rows dropped because the queue was full. */
  dropped = 0;
  /** Failed flush attempts (each retried). */
  failures = 0;

  constructor(private readonly deps: LogWriterDeps) {}

  get depth(): number {
    return this.queue.length;
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    if (this.queue.length > 0) this.schedule();
  }

  enqueue(entry: LogEntry): void {
    this.queue.push(entry);
    if (this.queue.length > this.deps.queueMax) this.dropOldest();
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

  /** Stops the timer and stores everything left; gives up after a few failed tries (logged). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (let tries = 0; tries < 5 && (this.queue.length > 0 || this.deps.usage.pending || this.flushing !== null); ) {
      const failuresBefore = this.failures;
      await this.flush();
      if (this.failures > failuresBefore) tries++;
    }
    if (this.queue.length > 0 || this.deps.usage.pending) {
      this.deps.log.error({ rows: this.queue.length }, 'request log and usage could not be stored before shutdown');
    }
  }

  // Drops an eighth of the queue at once, so a full queue costs O(1) amortized per row.
  private dropOldest(): void {
    const n = Math.max(1, this.deps.queueMax >> 3);
    this.queue.splice(0, n);
    this.dropped += n;
    this.warn({ dropped: this.dropped, queueMax: this.deps.queueMax }, 'request log queue full; dropped the oldest rows');
  }

  private warn(fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - this.lastWarnAt < WARN_EVERY_MS) return;
    this.lastWarnAt = now;
    this.deps.log.warn(fields, message);
  }

  private async flushOnce(): Promise<void> {
    this.lastFlushAt = Date.now();
    try {
      await this.writeQueued();
    } finally {
      // What arrived during the write, or what a failed write put back, goes with the next flush.
      if ((this.queue.length > 0 || this.deps.usage.pending) && this.timer === null && this.started && !this.closed) this.schedule();
    }
  }

  private async writeQueued(): Promise<void> {
    // Usage rides with the first slice; a failed slice ends the flush (the timer retries).
    let usage = this.deps.usage.drain();
    let written = 0;
    while (this.queue.length > 0 || usage !== null) {
      const taken = await this.writeSlice(usage);
      usage = null;
      if (taken < 0) return;
      written += taken;
      if (this.queue.length === 0 || written >= MAX_ROWS_PER_FLUSH) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (this.queue.length > 0 && !this.closed && written >= MAX_ROWS_PER_FLUSH) setImmediate(() => void this.flush());
  }

  /** Stores up to ROWS_PER_TRANSACTION queued rows (and `usage`) in one transaction; the row count, or -1 on failure. */
  private async writeSlice(usage: UsageSnapshot | null): Promise<number> {
    const entries = this.queue.length > ROWS_PER_TRANSACTION ? this.queue.splice(0, ROWS_PER_TRANSACTION) : this.queue;
    if (entries === this.queue) this.queue = [];
    const { sql, redactor } = this.deps;
    try {
      const rows = entries.map((e) => this.detachDeleted(toStoredRow(e, redactor)));
      const inserts = insertStatements(rows, sql, this.safeMode);
      const statements = usage === null ? inserts : inserts.concat(usageStatements(usage, sql));
      const results = await sql.transaction(statements);
      this.safeMode = false;
      const ids = insertedIds(results.slice(0, inserts.length));
      for (let i = 0; i < rows.length; i++) {
        rows[i].id = ids[i];
        this.deps.events.publish('requestLog:created', rows[i]);
      }
      return entries.length;
    } catch (error) {
      this.failures++;
      this.safeMode = true;
      this.putBack(entries, usage);
      this.warn({ err: error, rows: entries.length, queued: this.queue.length }, 'storing request logs failed; will retry');
      return -1;
    }
  }

  private putBack(entries: LogEntry[], usage: UsageSnapshot | null): void {
    if (usage !== null) this.deps.usage.restore(usage);
    if (entries.length === 0) return;
    this.queue = entries.concat(this.queue);
    const over = this.queue.length - this.deps.queueMax;
    if (over > 0) {
      this.queue.splice(0, over);
      this.dropped += over;
    }
  }

  // A key, upstream or token deleted since the request must not fail the batch on a foreign key.
  private detachDeleted(row: StoredRow): StoredRow {
    const { state } = this.deps;
    if (row.keyId !== null && !state.keys.has(row.keyId)) row.keyId = null;
    if (row.upstreamId !== null && !state.upstreamsById.has(row.upstreamId)) row.upstreamId = null;
    if (row.accessTokenId !== null && !state.tokensById.has(row.accessTokenId)) row.accessTokenId = null;
    return row;
  }
}
