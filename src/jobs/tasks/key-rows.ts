import type { SqlDriver } from '../../db/sql-driver.ts';
import type { KeyStateChange } from '../../events/bus.ts';
import type { Actor, KeyStatus } from '../../state/types.ts';

// Raw SQL helpers shared by the key jobs. The jobs write through the driver
// (one statement per row costs microseconds; a Prisma call costs hundreds).

/** A DateTime column as read back: unix ms on SQLite, a Date on PostgreSQL. */
export function toMs(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  return Number(value);
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The INSERT…SELECT that records a key event (actor JOB) from the key row's
 * current values, only when the guard appended to it holds. It runs before
 * the UPDATE it documents, in the same transaction, so it reads the old status.
 * Params: at, toStatus, reason, disabledUntil, keyId, then the guard's.
 */
export const INSERT_EVENT_FROM_KEY = `
  INSERT INTO "KeyEvent" ("createdAt", "keyId", "keyName", "upstreamId", "fromStatus", "toStatus", "reason", "disabledUntil", "actor")
  SELECT ?, "id", "name", "upstreamId", "status", ?, ?, ?, 'JOB' FROM "ApiKey" WHERE "id" = ? AND `;

interface EventRow {
  keyId: string;
  keyName: string;
  upstreamId: string | null;
  fromStatus: KeyStatus;
  toStatus: KeyStatus;
  reason: string | null;
  actor: Actor;
  model: string | null;
  disabledUntil: unknown;
  createdAt: unknown;
  fingerprint: string | null;
}

/**
 * The KeyEvent rows this run stored at `at` for these keys, as bus events.
 * Read back after the commit, so what the main thread publishes is exactly
 * what the audit trail holds: a guarded statement that matched nothing (the
 * key changed meanwhile) stored no row and is not published either.
 */
export async function readBackEvents(sql: SqlDriver, at: number, keyIds: string[]): Promise<KeyStateChange[]> {
  if (keyIds.length === 0) return [];
  const rows = await sql.query<EventRow>(
    `SELECT e."keyId", e."keyName", e."upstreamId", e."fromStatus", e."toStatus", e."reason", e."actor", e."model", e."disabledUntil", e."createdAt", k."fingerprint"
     FROM "KeyEvent" e LEFT JOIN "ApiKey" k ON k."id" = e."keyId"
     WHERE e."createdAt" = ? AND e."actor" = 'JOB' AND e."keyId" IN (${keyIds.map(() => '?').join(', ')})
     ORDER BY e."id"`,
    [sql.time(at), ...keyIds],
  );
  return rows.map((r) => ({
    keyId: r.keyId,
    upstreamId: r.upstreamId ?? '',
    keyName: r.keyName,
    fingerprint: r.fingerprint ?? '',
    from: r.fromStatus,
    to: r.toStatus,
    reason: r.reason,
    actor: r.actor,
    ruleId: null,
    requestId: null,
    model: r.model,
    disabledUntil: toMs(r.disabledUntil),
    at: toMs(r.createdAt) ?? at,
  }));
}
