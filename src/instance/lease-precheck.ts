// On SQLite the lease is checked before migrating too: the schema engine
// waits on the running instance's locks and then fails with a lock error that
// names nothing useful. A read-only look at the lease row (when the table and
// the file exist) lets a second instance refuse at once, with the same line.

import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { DatabaseTarget } from '../db/database-url.ts';
import { waitForLease, type LeaseRow } from './lease.ts';

export async function checkLeaseBeforeMigrating(target: DatabaseTarget, leaseMs: number): Promise<void> {
  if (target.provider !== 'sqlite' || !existsSync(target.file)) return;
  const db = new Database(target.file, { readonly: true, fileMustExist: true, timeout: 2000 });
  try {
    const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'InstanceLease'`).get();
    if (table === undefined) return;
    const read = async (): Promise<LeaseRow | null> => {
      const r = db.prepare('SELECT "holder", "host", "heartbeatMs", "beat" FROM "InstanceLease" WHERE "id" = ?').get('gateway') as Record<string, unknown> | undefined;
      return r === undefined ? null : { holder: String(r.holder), host: String(r.host), heartbeatMs: Number(r.heartbeatMs), beat: Number(r.beat) };
    };
    // Nothing is taken here: the real acquisition follows the migrations.
    await waitForLease(read, leaseMs, async () => true);
  } finally {
    db.close();
  }
}
