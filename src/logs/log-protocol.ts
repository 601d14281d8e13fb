// Messages between the log writer (main thread) and its worker: one `write`
// per flush with the chunks of rows taken from the queue and the usage
// counted since the last flush. The worker stores them in transactions of up
// to ROWS_PER_TRANSACTION rows (usage with the first) and answers once: what
// each chunk got (its ids), or null for the chunks from the first failed
// transaction on, so the main thread can put those back in order.

import type { DatabaseTarget } from '../db/database-url.ts';
import type { UsageSnapshot } from '../keys/usage-counters.ts';
import type { PackedRows } from './log-chunk.ts';

export interface LogWorkerData {
  target: DatabaseTarget;
  busyTimeoutMs: number;
}

export type ToLogWorker =
  | { type: 'write'; seq: number; chunks: PackedRows[]; usage: UsageSnapshot | null; safe: boolean }
  | { type: 'closing' }
  | { type: 'close' };

export interface StoredChunk {
  ids: number[];
  /** [row, column, stored value] triples for free-text columns the worker redacted or clipped. */
  changed: (number | string | null)[];
  /** Rows the database refused on their own: left out (their id is 0), the rest stored. */
  rejected: Array<{ row: number; requestId: string; message: string; code: string | null }>;
}

export type FromLogWorker =
  | {
      type: 'written';
      seq: number;
      /** Per chunk of the write, in order; null when its transaction failed or was not tried. */
      chunks: (StoredChunk | null)[];
      usageStored: boolean;
      /** Why the first failed transaction failed; null when everything was stored. */
      error: { message: string; code: string | null } | null;
    }
  | { type: 'closed' };
