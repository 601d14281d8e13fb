// One bad row must never block a batch. When an INSERT of request-log rows
// fails for a reason that belongs to the rows (a value the database refuses,
// a constraint), the rows are bisected inside the batch's own transaction,
// each half under a savepoint, until the rows that fail alone are found; they
// are left out (reported, counted, logged with their request id) and the
// rest commit together. A failure that is the database's, not a row's (the
// connection, a lock, a full disk) fails the whole transaction as before,
// so it is retried and nothing is dropped for it.

/** PostgreSQL SQLSTATE classes that say nothing about the rows: retry the batch. */
const PG_TRANSIENT_CLASSES = new Set(['08', '40', '53', '55', '57', '58', 'XX']);
/** SQLite result codes that belong to the rows (better-sqlite3 reports extended codes by name). */
const SQLITE_ROW_CODES = ['SQLITE_CONSTRAINT', 'SQLITE_TOOBIG', 'SQLITE_MISMATCH', 'SQLITE_RANGE'];

/** True when the error is about the rows written, so isolating them can help. */
export function isRowError(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError) return true; // a value the driver cannot bind
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string') return false;
  if (code.startsWith('SQLITE_')) return SQLITE_ROW_CODES.some((c) => code.startsWith(c));
  return /^[0-9A-Z]{5}$/.test(code) && !PG_TRANSIENT_CLASSES.has(code.slice(0, 2));
}

export interface RejectedRow {
  /** Index in the batch. */
  index: number;
  message: string;
  code: string | null;
}

/**
 * Rows refused alone with none stored yet: past this, every row failing is
 * the database's doing (a trigger, a full table), not the rows'; the whole
 * batch fails and is retried instead of being dropped row by row.
 */
const GLOBAL_FAILURE_ROWS = 8;

/** The bisection's bookkeeping: rows stored in sub-ranges so far, and the rows refused alone. */
export class Isolation {
  stored = 0;
  readonly rejected: RejectedRow[] = [];
  constructor(readonly total: number) {}

  /** After [from, to) failed with a row error: true to split it; false when it was a single row, now rejected. Throws when the failure looks global. */
  failed(error: unknown, from: number, to: number): boolean {
    if (!isRowError(error)) throw error;
    if (to - from > 1) return true;
    const e = error as { message?: unknown; code?: unknown };
    this.rejected.push({ index: from, message: String(e?.message ?? error).slice(0, 300), code: typeof e?.code === 'string' ? e.code : null });
    if (this.stored === 0 && (this.rejected.length >= GLOBAL_FAILURE_ROWS || this.rejected.length === this.total)) throw error;
    return false;
  }
}

/**
 * Inserts rows [from, to) through `attempt`, which must run them under a
 * savepoint (undone when it throws). On a row error the range is halved until
 * single rows fail; those land in `iso.rejected`. Any other error is rethrown.
 */
export async function insertIsolating(attempt: (from: number, to: number) => Promise<void>, from: number, to: number, iso: Isolation): Promise<void> {
  if (from >= to) return;
  try {
    await attempt(from, to);
    iso.stored += to - from;
  } catch (error) {
    if (!iso.failed(error, from, to)) return;
    const mid = from + ((to - from) >> 1);
    await insertIsolating(attempt, from, mid, iso);
    await insertIsolating(attempt, mid, to, iso);
  }
}

/**
 * Rows refused during the bisection get one more try each once the rest is
 * stored: a failure that stopped meanwhile (a trigger dropped, a lock gone)
 * must not cost them. Those that fail again stay rejected.
 */
export async function retryRejected(attempt: (from: number, to: number) => Promise<void>, iso: Isolation): Promise<void> {
  if (iso.rejected.length === 0 || iso.stored === 0) return;
  for (let i = iso.rejected.length - 1; i >= 0; i--) {
    const { index } = iso.rejected[i];
    try {
      await attempt(index, index + 1);
      iso.rejected.splice(i, 1);
      iso.stored++;
    } catch (error) {
      if (!isRowError(error)) throw error;
    }
  }
}

export function retryRejectedSync(attempt: (from: number, to: number) => void, iso: Isolation): void {
  if (iso.rejected.length === 0 || iso.stored === 0) return;
  for (let i = iso.rejected.length - 1; i >= 0; i--) {
    const { index } = iso.rejected[i];
    try {
      attempt(index, index + 1);
      iso.rejected.splice(i, 1);
      iso.stored++;
    } catch (error) {
      if (!isRowError(error)) throw error;
    }
  }
}

/** The synchronous twin for better-sqlite3, whose transactions cannot await. */
export function insertIsolatingSync(attempt: (from: number, to: number) => void, from: number, to: number, iso: Isolation): void {
  if (from >= to) return;
  try {
    attempt(from, to);
    iso.stored += to - from;
  } catch (error) {
    if (!iso.failed(error, from, to)) return;
    const mid = from + ((to - from) >> 1);
    insertIsolatingSync(attempt, from, mid, iso);
    insertIsolatingSync(attempt, mid, to, iso);
  }
}
