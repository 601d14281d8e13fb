import type { SqlDriver, SqlStatement } from '../db/sql-driver.ts';
import type { KeyStateChange } from '../events/bus.ts';
import type { Actor, KeyStatus } from '../state/types.ts';
import type { ReturnOutcome } from './return-outcome.ts';

// The only module that writes a key's status columns (status, disabledUntil,
// statusReason, disableCount), its model cooldowns and its KeyEvent audit rows.
// The main thread (KeyLifecycle) and the job workers both call it, each
// through its own SqlDriver, so the two can never disagree on what a change
// stores. Every write pairs the key row with its KeyEvent in one transaction.

const EVENT_COLUMNS = '"createdAt", "keyId", "keyName", "upstreamId", "fromStatus", "toStatus", "reason", "actor", "ruleId", "requestId", "model", "disabledUntil"';
// A key or rule deleted while its change waited must not make the write fail
// (a rule-fired change is retried until stored): such a change stores nothing
// for a gone key, and a gone rule is recorded as null, as its deletion would.
const KEY_EXISTS = 'WHERE EXISTS (SELECT 1 FROM "ApiKey" WHERE "id" = ?)';

/** Stores one change made on the main thread (the lifecycle), with the key's escalation count. */
export async function storeKeyChange(sql: SqlDriver, c: KeyStateChange, disableCount: number): Promise<void> {
  const at = sql.time(c.at);
  const until = c.disabledUntil === null ? null : sql.time(c.disabledUntil);
  let keyWrite: SqlStatement;
  if (c.model === null) {
    keyWrite = {
      sql: 'UPDATE "ApiKey" SET "status" = ?, "disabledUntil" = ?, "statusReason" = ?, "disableCount" = ?, "updatedAt" = ? WHERE "id" = ?',
      params: [c.to, until, c.reason, disableCount, at, c.keyId],
    };
  } else if (until === null) {
    keyWrite = { sql: 'DELETE FROM "KeyModelCooldown" WHERE "keyId" = ? AND "model" = ?', params: [c.keyId, c.model] };
  } else {
    keyWrite = {
      sql: `INSERT INTO "KeyModelCooldown" ("keyId", "model", "until", "reason") SELECT ?, ?, ?, ? ${KEY_EXISTS}
            ON CONFLICT ("keyId", "model") DO UPDATE SET "until" = excluded."until", "reason" = excluded."reason"`,
      params: [c.keyId, c.model, until, c.reason, c.keyId],
    };
  }
  const event: SqlStatement = {
    sql: `INSERT INTO "KeyEvent" (${EVENT_COLUMNS})
          SELECT ?, ?, ?, ?, ?, ?, ?, ?, (SELECT "id" FROM "Rule" WHERE "id" = ?), ?, ?, ? ${KEY_EXISTS}`,
    params: [at, c.keyId, c.keyName, c.upstreamId, c.from, c.to, c.reason, c.actor, c.ruleId, c.requestId, c.model, until, c.keyId],
  };
  await sql.transaction([keyWrite, event]);
}

/** Stores a reset of the key's escalation count: no KeyEvent, its state does not change. */
export async function storeDisableCount(sql: SqlDriver, keyId: string, disableCount: number): Promise<void> {
  await sql.execute('UPDATE "ApiKey" SET "disableCount" = ? WHERE "id" = ?', [disableCount, keyId]);
}

// The job workers' writes, and the timers' in cluster mode. Each statement is
// guarded by the state the job or timer read, so a second run, another
// instance's timer, or a key changed meanwhile by an admin or a rule, changes
// nothing; the KeyEvent is inserted from the key row before the UPDATE it
// documents (same transaction), so it reads the old status. On PostgreSQL
// that read locks the row (FOR UPDATE): of two instances claiming the same
// return at once, the second waits for the first's commit, then finds the
// guard false and writes neither the event nor the row.
type GuardedActor = Extract<Actor, 'JOB' | 'TIMER'>;
const eventFromKey = (actor: GuardedActor) => `INSERT INTO "KeyEvent" ("createdAt", "keyId", "keyName", "upstreamId", "fromStatus", "toStatus", "reason", "disabledUntil", "actor")
  SELECT ?, "id", "name", "upstreamId", "status", ?, ?, ?, '${actor}' FROM "ApiKey" WHERE "id" = ? AND `;
const EVENT_FROM_KEY = eventFromKey('JOB');
const forUpdate = (sql: SqlDriver, of = '') => (sql.provider === 'postgres' ? ` FOR UPDATE${of}` : '');

/** A DISABLED key whose time (`seenUntil`, as read) is over returns, or stays out after a failed probe. */
export function returnStatements(sql: SqlDriver, keyId: string, seenUntil: number, at: number, outcome: ReturnOutcome, actor: GuardedActor = 'JOB'): SqlStatement[] {
  const guard = `"status" = 'DISABLED' AND "disabledUntil" = ?`;
  const until = outcome.until === null ? null : sql.time(outcome.until);
  return [
    { sql: `${eventFromKey(actor)} ${guard}${forUpdate(sql)}`, params: [sql.time(at), outcome.to, outcome.reason, until, keyId, sql.time(seenUntil)] },
    {
      sql: `UPDATE "ApiKey" SET "status" = ?, "disabledUntil" = ?, "statusReason" = ?, "updatedAt" = ? WHERE "id" = ? AND ${guard}`,
      params: [outcome.to, until, outcome.to === 'ACTIVE' ? null : outcome.reason, sql.time(at), keyId, sql.time(seenUntil)],
    },
  ];
}

/** A model cooldown whose time (`seenUntil`, as read) is over ends. */
export function cooldownOverStatements(sql: SqlDriver, keyId: string, model: string, seenUntil: number, at: number, actor: GuardedActor = 'JOB'): SqlStatement[] {
  const guard = [keyId, model, sql.time(seenUntil)];
  return [
    {
      sql: `INSERT INTO "KeyEvent" ("createdAt", "keyId", "keyName", "upstreamId", "fromStatus", "toStatus", "reason", "model", "actor")
            SELECT ?, k."id", k."name", k."upstreamId", k."status", k."status", ?, c."model", '${actor}'
            FROM "KeyModelCooldown" c JOIN "ApiKey" k ON k."id" = c."keyId"
            WHERE c."keyId" = ? AND c."model" = ? AND c."until" = ?${forUpdate(sql, ' OF c')}`,
      params: [sql.time(at), `cooldown for ${model} over`, ...guard],
    },
    { sql: 'DELETE FROM "KeyModelCooldown" WHERE "keyId" = ? AND "model" = ? AND "until" = ?', params: guard },
  ];
}

/** A key's quota period is over (guarded by `now`): the count restarts, EXHAUSTED returns to ACTIVE. */
export function quotaResetStatements(sql: SqlDriver, keyId: string, now: number, at: number, nextReset: number | null): SqlStatement[] {
  const guard = '("quotaResetAt" IS NULL OR "quotaResetAt" <= ?)';
  return [
    { sql: `${EVENT_FROM_KEY} "status" = 'EXHAUSTED' AND ${guard}${forUpdate(sql)}`, params: [sql.time(at), 'ACTIVE', 'quota reset', null, keyId, sql.time(now)] },
    // Cluster mode's quota blocks belong to the period (keys/quota-lease.ts); before the update, which moves the guard's column.
    { sql: `DELETE FROM "QuotaLease" WHERE "keyId" = ? AND EXISTS (SELECT 1 FROM "ApiKey" WHERE "id" = ? AND ${guard})`, params: [keyId, keyId, sql.time(now)] },
    {
      sql: `UPDATE "ApiKey" SET "quotaUsed" = 0, "quotaLeased" = 0,
              "statusReason" = CASE WHEN "status" = 'EXHAUSTED' THEN NULL ELSE "statusReason" END,
              "status" = CASE WHEN "status" = 'EXHAUSTED' THEN 'ACTIVE' ELSE "status" END,
              "quotaResetAt" = ?, "updatedAt" = ?
            WHERE "id" = ? AND ${guard}`,
      params: [nextReset === null ? null : sql.time(nextReset), sql.time(at), keyId, sql.time(now)],
    },
  ];
}

/**
 * Cluster mode: an instance's return timer claims the return. True when this
 * call stored it (the key was still DISABLED until `seenUntil`); false when
 * another instance, a job or an admin changed the key first (nothing stored).
 */
export async function claimReturn(sql: SqlDriver, keyId: string, seenUntil: number, at: number, outcome: ReturnOutcome): Promise<boolean> {
  const results = await sql.transaction(returnStatements(sql, keyId, seenUntil, at, outcome, 'TIMER'));
  return results[1]!.changes === 1;
}

/** Cluster mode: an instance's cooldown timer claims the cooldown's end; false when it had ended or changed already. */
export async function claimCooldownOver(sql: SqlDriver, keyId: string, model: string, seenUntil: number, at: number): Promise<boolean> {
  const results = await sql.transaction(cooldownOverStatements(sql, keyId, model, seenUntil, at, 'TIMER'));
  return results[1]!.changes === 1;
}

/** Runs a job's guarded statements in one transaction. */
export async function storeJobBatch(sql: SqlDriver, statements: SqlStatement[]): Promise<void> {
  await sql.transaction(statements);
}

/** A DateTime column as read back: unix ms on SQLite, a Date on PostgreSQL. */
export function toMs(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  return Number(value);
}

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
 * The KeyEvent rows a job run stored at `at` for these keys, as bus events.
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
