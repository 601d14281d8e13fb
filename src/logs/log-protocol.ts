// Messages between the log writer (main thread) and its worker. One `write`
// per transaction: up to a chunk of rows, and the usage snapshot with the
// first write of a flush. Writes of one flush share a `group`; after one of
// them fails the worker fails the rest of the group without trying, so the
// main thread can put them back in order.

import type { DatabaseTarget } from '../db/database-url.ts';
import type { UsageSnapshot } from '../keys/usage-counters.ts';
import type { PackedRows } from './log-chunk.ts';

export interface LogWorkerData {
  target: DatabaseTarget;
  busyTimeoutMs: number;
}

export type ToLogWorker =
  | { type: 'write'; seq: number; group: number; rows: PackedRows | null; usage: UsageSnapshot | null; safe: boolean }
  | { type: 'close' };

export type FromLogWorker =
  /** `changed`: [row, column, stored value] triples for free-text columns the worker redacted or clipped. */
  | { type: 'written'; seq: number; ids: number[]; changed: (number | string | null)[] }
  | { type: 'failed'; seq: number; message: string; code: string | null; tried: boolean }
  | { type: 'closed' };
