import type { SqlStatement } from '../../db/sql-driver.ts';
import type { JobCounts } from '../messages.ts';
import type { JobContext } from '../worker-runtime.ts';
import { cooldownOverStatements, returnStatements, storeJobBatch } from '../../keys/key-store.ts';
import { returnOutcome } from '../../keys/return-outcome.ts';
import { chunks, readBackEvents, toMs } from './key-rows.ts';
import { probeDisabledKeys, type ProbeVerdicts } from './key-probes.ts';

const KEYS_PER_TRANSACTION = 100;

/**
 * The safety net behind the lifecycle's in-process timers: keys DISABLED
 * with a time that has passed return to ACTIVE, and model cooldowns past
 * their time are removed. Only what is overdue by more than a grace period is
 * touched, so the job does not race a timer that is firing right now. Where
 * the upstream has a probe the key is probed first; a failed probe keeps it
 * out PROBE_RETRY_MS longer (returnOutcome: the same outcome the timer stores).
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
      // The same outcome the lifecycle's timer would store; guarded by the exact disabledUntil read.
      const outcome = returnOutcome(verdicts.get(key.id), at);
      if (outcome.to === 'DISABLED') probeFailed++;
      statements.push(...returnStatements(sql, key.id, toMs(key.disabledUntil)!, at, outcome));
    }
    await storeJobBatch(sql, statements);
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
    await storeJobBatch(sql, batch.flatMap((c) => cooldownOverStatements(sql, c.keyId, c.model, toMs(c.until)!, at)));
    const ids = [...new Set(batch.map((c) => c.keyId))];
    const events = await readBackEvents(sql, at, ids);
    cooldownsCleared += events.filter((e) => e.model !== null).length;
    ctx.post({ type: 'keys-changed', keys: ids.map((keyId) => ({ keyId, usedReset: false })), events });
  }
  return { keysChecked: overdue.length, keysReenabled: reenabled, probesFailed: probeFailed, cooldownsCleared };
}
