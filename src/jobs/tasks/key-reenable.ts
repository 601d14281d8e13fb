import type { SqlStatement } from '../../db/sql-driver.ts';
import type { JobCounts } from '../messages.ts';
import type { JobContext } from '../worker-runtime.ts';
import { INSERT_EVENT_FROM_KEY, chunks, readBackEvents, toMs } from './key-rows.ts';
import { probeDisabledKeys, type ProbeVerdicts } from './key-probes.ts';

const KEYS_PER_TRANSACTION = 100;

/**
 * The safety net behind the lifecycle's in-process timers: keys DISABLED
 * with a time that has passed return to ACTIVE, and model cooldowns past
 * their time are removed. Only what is overdue by more than a grace period is
 * touched, so the job does not race a timer that is firing right now. Where
 * the upstream has a probe the key is probed first; a failed probe keeps it
 * out PROBE_RETRY_MS longer (recorded as an event, like the timer path does).
 * Every statement is guarded by the state it read, so a second run, or a key
 * changed meanwhile by an admin or a rule, changes nothing.
 */
export async function reenableKeys(ctx: JobContext): Promise<JobCounts> {
  const { sql } = ctx.db;
  const cutoff = Date.now() - ctx.run.settings.reenableGraceMs;
  const overdue = await sql.query<{ id: string; upstreamId: string; disabledUntil: unknown }>(
    `SELECT "id", "upstreamId", "disabledUntil" FROM "ApiKey" WHERE "status" = 'DISABLED' AND "disabledUntil" IS NOT NULL AND "disabledUntil" <= ?`,
    [sql.time(cutoff)],
  );
  const verdicts: ProbeVerdicts = await probeDisabledKeys(ctx, overdue.map((k) => ({ id: k.id, upstreamId: k.upstreamId })));

  let reenabled = 0;
  let probeFailed = 0;
  for (const batch of chunks(overdue, KEYS_PER_TRANSACTION)) {
    if (ctx.cancelled()) break;
    const at = Date.now();
    const statements: SqlStatement[] = [];
    for (const key of batch) {
      const until = toMs(key.disabledUntil)!;
      // Guarded by the exact disabledUntil read: a key re-disabled meanwhile keeps its new time.
      const guard = `"status" = 'DISABLED' AND "disabledUntil" = ?`;
      const verdict = verdicts.get(key.id);
      if (verdict && !verdict.ok) {
        const retryAt = at + verdict.retryInMs;
        const reason = `probe failed: ${verdict.reason}`;
        statements.push(
          { sql: `${INSERT_EVENT_FROM_KEY} ${guard}`, params: [sql.time(at), 'DISABLED', reason, sql.time(retryAt), key.id, sql.time(until)] },
          { sql: `UPDATE "ApiKey" SET "disabledUntil" = ?, "statusReason" = ?, "updatedAt" = ? WHERE "id" = ? AND ${guard}`, params: [sql.time(retryAt), reason, sql.time(at), key.id, sql.time(until)] },
        );
        probeFailed++;
        continue;
      }
      const reason = verdicts.has(key.id) ? 'disable time over; probe passed' : 'disable time over';
      statements.push(
        { sql: `${INSERT_EVENT_FROM_KEY} ${guard}`, params: [sql.time(at), 'ACTIVE', reason, null, key.id, sql.time(until)] },
        { sql: `UPDATE "ApiKey" SET "status" = 'ACTIVE', "disabledUntil" = NULL, "statusReason" = NULL, "updatedAt" = ? WHERE "id" = ? AND ${guard}`, params: [sql.time(at), key.id, sql.time(until)] },
      );
    }
    await sql.transaction(statements);
    const ids = batch.map((k) => k.id);
    const events = await readBackEvents(sql, at, ids);
    reenabled += events.filter((e) => e.to === 'ACTIVE').length;
    ctx.post({ type: 'keys-changed', keys: ids.map((keyId) => ({ keyId, usedReset: false })), events });
  }

  const cooldowns = await sql.query<{ keyId: string; model: string; until: unknown }>(
    'SELECT "keyId", "model", "until" FROM "KeyModelCooldown" WHERE "until" <= ?',
    [sql.time(cutoff)],
  );
  let cooldownsCleared = 0;
  for (const batch of chunks(cooldowns, KEYS_PER_TRANSACTION)) {
    if (ctx.cancelled()) break;
    const at = Date.now();
    await sql.transaction(
      batch.flatMap((c) => {
        const guard = [c.keyId, c.model, sql.time(toMs(c.until)!)];
        return [
          {
            sql: `INSERT INTO "KeyEvent" ("createdAt", "keyId", "keyName", "upstreamId", "fromStatus", "toStatus", "reason", "model", "actor")
                  SELECT ?, k."id", k."name", k."upstreamId", k."status", k."status", ?, c."model", 'JOB'
                  FROM "KeyModelCooldown" c JOIN "ApiKey" k ON k."id" = c."keyId"
                  WHERE c."keyId" = ? AND c."model" = ? AND c."until" = ?`,
            params: [sql.time(at), `cooldown for ${c.model} over`, ...guard],
          },
          { sql: 'DELETE FROM "KeyModelCooldown" WHERE "keyId" = ? AND "model" = ? AND "until" = ?', params: guard },
        ];
      }),
    );
    const ids = [...new Set(batch.map((c) => c.keyId))];
    const events = await readBackEvents(sql, at, ids);
    cooldownsCleared += events.filter((e) => e.model !== null).length;
    ctx.post({ type: 'keys-changed', keys: ids.map((keyId) => ({ keyId, usedReset: false })), events });
  }
  return { keysChecked: overdue.length, keysReenabled: reenabled, probesFailed: probeFailed, cooldownsCleared };
}
