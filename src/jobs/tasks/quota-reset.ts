import type { JobCounts } from '../messages.ts';
import { nextQuotaResetAt } from '../../keys/quota-schedule.ts';
import type { JobContext } from '../worker-runtime.ts';
import { quotaResetStatements, storeJobBatch } from '../../keys/key-store.ts';
import { chunks, readBackEvents, toMs } from './key-rows.ts';

const KEYS_PER_TRANSACTION = 100;

interface KeyRow {
  id: string;
  upstreamId: string;
  status: string;
  quotaUsed: number;
  quotaResetAt: unknown;
  createdAt: unknown;
}

/**
 * Resets the quota of every key whose period is over. The period is data:
 * `ApiKey.quotaResetAt` holds the end of the key's current period (null: one
 * period from the key's creation). A due key gets `quotaUsed = 0`, EXHAUSTED
 * becomes ACTIVE (with a KeyEvent, actor JOB), and `quotaResetAt` moves to
 * the schedule's next run. So a reset happens once per period whatever runs
 * the job and how often (restarts, manual runs, two instances): a second run
 * finds nothing due and changes nothing.
 */
export async function resetDueQuotas(ctx: JobContext): Promise<JobCounts> {
  const { sql } = ctx.db;
  const { quotaSchedule, timezone } = ctx.run.settings;
  const now = Date.now();
  type Period = { quotaResetCron: string | null; quotaResetTimezone: string | null };
  const upstreams = new Map<string, Period>();
  for (const u of await sql.query<Period & { id: string }>('SELECT "id", "quotaResetCron", "quotaResetTimezone" FROM "Upstream"')) upstreams.set(u.id, u);
  const noOverride: Period = { quotaResetCron: null, quotaResetTimezone: null };
  // The same function the rule runtime uses for QUOTA_RESET disables, so both agree on when a period ends.
  const nextReset = (upstreamId: string, after: number) => nextQuotaResetAt(upstreams.get(upstreamId) ?? noOverride, quotaSchedule, timezone, after);

  const keys = await sql.query<KeyRow>('SELECT "id", "upstreamId", "status", "quotaUsed", "quotaResetAt", "createdAt" FROM "ApiKey"');
  const due: Array<{ row: KeyRow; nextReset: number | null }> = [];
  for (const row of keys) {
    const periodEnd = toMs(row.quotaResetAt) ?? nextReset(row.upstreamId, toMs(row.createdAt) ?? now);
    if (periodEnd === null || periodEnd > now) continue;
    due.push({ row, nextReset: nextReset(row.upstreamId, now) });
  }

  let reset = 0;
  let reactivated = 0;
  for (const batch of chunks(due, KEYS_PER_TRANSACTION)) {
    if (ctx.cancelled()) break;
    const at = Date.now();
    await storeJobBatch(sql, batch.flatMap(({ row, nextReset }) => quotaResetStatements(sql, row.id, now, at, nextReset)));
    const ids = batch.map((d) => d.row.id);
    const events = await readBackEvents(sql, at, ids);
    reset += batch.length;
    reactivated += events.length;
    ctx.post({ type: 'keys-changed', keys: ids.map((keyId) => ({ keyId, usedReset: true })), events });
  }
  return { keysChecked: keys.length, quotasReset: reset, keysReactivated: reactivated };
}
