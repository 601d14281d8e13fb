// One gateway per database until cluster mode exists. Quotas are reserved in
// memory, so two instances on one database each spend the whole quota (150 +
// 150 requests against 100 reached the upstream 200 times). At start the
// gateway takes a lease row in the database and keeps it with a heartbeat; a
// second instance finds the lease held and refuses to start. A holder that
// died stops beating: a newcomer that sees the heartbeat stale (by the time
// stored, or by the beat counter not moving while it watches, whatever the
// clocks say) takes the lease over, so a crash never blocks its own restart.
// A clean shutdown deletes the row.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { SqlDriver } from '../db/sql-driver.ts';
import type { Logger } from '../logger.ts';

const LEASE_ID = 'gateway';

export class InstanceConflictError extends Error {}

export interface LeaseRow {
  holder: string;
  host: string;
  heartbeatMs: number;
  beat: number;
}

export interface InstanceLease {
  /** Stops the heartbeat and deletes the lease. */
  release(): Promise<void>;
}

async function read(sql: SqlDriver): Promise<LeaseRow | null> {
  const rows = await sql.query<Record<string, unknown>>('SELECT "holder", "host", "heartbeatMs", "beat" FROM "InstanceLease" WHERE "id" = ?', [LEASE_ID]);
  const r = rows[0];
  return r === undefined ? null : { holder: String(r.holder), host: String(r.host), heartbeatMs: Number(r.heartbeatMs), beat: Number(r.beat) };
}

function conflict(row: LeaseRow, now: number): InstanceConflictError {
  const age = ((now - row.heartbeatMs) / 1000).toFixed(1);
  return new InstanceConflictError(
    `another keyrelay instance (${row.host}, heartbeat ${age} s ago) is serving this database; a second one would spend every quota twice, so this one will not start. ` +
      'Several instances need cluster mode, which is not yet available; once it is, setting KEYRELAY_REDIS_URL will allow it.',
  );
}

/**
 * Watches the lease until it is free or its holder is dead, then calls `take`
 * (retrying from the start if another newcomer was quicker). Throws
 * InstanceConflictError when the holder's heartbeat moves: it is alive.
 * Resolves with the dead holder taken over, or null.
 */
export async function waitForLease(read: () => Promise<LeaseRow | null>, leaseMs: number, take: (seen: LeaseRow | null) => Promise<boolean>): Promise<LeaseRow | null> {
  const watchStarted = Date.now();
  let first: LeaseRow | null = null;
  for (;;) {
    const row = await read();
    if (row === null) {
      if (await take(null)) return null;
      continue;
    }
    first ??= row;
    const now = Date.now();
    if (row.beat !== first.beat || row.holder !== first.holder) throw conflict(row, now);
    if (now - row.heartbeatMs > leaseMs || now - watchStarted > leaseMs) {
      if (await take(row)) return row;
      continue;
    }
    // Held by a recent heartbeat: watch it beat (a live holder) or go silent (a dead one).
    await new Promise((r) => setTimeout(r, Math.min(leaseMs / 6, 1000)));
  }
}

/**
 * Takes the lease (through `sql`, which may wait on locks: nothing is served
 * yet) or throws InstanceConflictError. The heartbeat goes through
 * `heartbeat`, a connection that must never block the event loop. `leaseMs` is how long a
 * silent heartbeat stays valid; the holder beats every third of it.
 */
export async function acquireInstanceLease(conn: { sql: SqlDriver; heartbeat: SqlDriver }, log: Logger, leaseMs: number): Promise<InstanceLease> {
  const { sql, heartbeat } = conn;
  const me = randomUUID();
  const host = `${hostname()}:${process.pid}`;
  const take = async (seen: LeaseRow | null): Promise<boolean> => {
    if (seen === null) {
      return (await sql.execute('INSERT INTO "InstanceLease" ("id", "holder", "host", "heartbeatMs", "beat") VALUES (?, ?, ?, ?, 0) ON CONFLICT ("id") DO NOTHING', [LEASE_ID, me, host, Date.now()])) === 1;
    }
    const changed = await sql.execute(
      'UPDATE "InstanceLease" SET "holder" = ?, "host" = ?, "heartbeatMs" = ?, "beat" = "beat" + 1 WHERE "id" = ? AND "holder" = ? AND "beat" = ?',
      [me, host, Date.now(), LEASE_ID, seen.holder, seen.beat],
    );
    return changed === 1;
  };

  const previous = await waitForLease(() => read(sql), leaseMs, take);
  if (previous !== null) log.warn({ previous: previous.host }, 'took over the database lease of an instance that stopped without releasing it');

  let lost = false;
  // During a database outage every beat fails: say so when it starts and every 30 s, not at every beat.
  let failingSince: number | null = null;
  let lastWarned = 0;
  const timer = setInterval(() => {
    void heartbeat
      .execute('UPDATE "InstanceLease" SET "heartbeatMs" = ?, "beat" = "beat" + 1 WHERE "id" = ? AND "holder" = ?', [Date.now(), LEASE_ID, me])
      .then((changed) => {
        if (failingSince !== null) log.info({ failedForMs: Date.now() - failingSince }, 'database lease heartbeat works again');
        failingSince = null;
        if (changed === 0 && !lost) {
          lost = true;
          log.error('this instance lost its database lease (its heartbeat stalled past the lease time and another instance took over): stop one of them');
        }
      })
      .catch((error: unknown) => {
        const now = Date.now();
        failingSince ??= now;
        if (now - lastWarned < 30_000) return;
        lastWarned = now;
        log.warn({ err: error, failingForMs: now - failingSince }, 'database lease heartbeat failed; retrying');
      });
  }, Math.max(100, Math.floor(leaseMs / 3)));
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await sql.execute('DELETE FROM "InstanceLease" WHERE "id" = ? AND "holder" = ?', [LEASE_ID, me]).catch((error: unknown) => log.warn({ err: error }, 'could not release the database lease'));
    },
  };
}
