// log-cleanup on both databases: 200,000 old request-log rows (and old key
// events) deleted in bounded batches while proxied traffic keeps flowing;
// younger rows untouched; on SQLite the WAL ends truncated.
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { seedLogs } from '../graphql/support.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { ensureBuilt } from './support/ensure-built.ts';
import { proxyTarget, startProxyLoad } from './support/load.ts';
import { seedKeyEvents } from './support/seed.ts';

const RunJob = graphql(`mutation JobsCleanupRunJob($name: String!) { runJob(name: $name) { id status trigger } }`);
const SetSchedule = graphql(`mutation JobsCleanupSchedule($name: String!, $schedule: String) { setJobSchedule(name: $name, schedule: $schedule) { schedule } }`);

const DAY = 86_400_000;
const OLD_ROWS = 200_000;

// 200,000 rows deleted under proxy load: minutes on a loaded 2-core machine, so the timeouts are generous.
describe.each(PROVIDERS)('log-cleanup on %s', { timeout: 300_000 }, (provider) => {
  let t: TestGateway;
  let mock: MockUpstream;

  beforeAll(async () => {
    await ensureBuilt();
    mock = await startMockUpstream();
    t = await startTestGateway({ provider, env: { KEYRELAY_JOBS: 'true', KEYRELAY_RETENTION_DAYS: '30' } });
    await t.gateway.jobs.idle();
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  const count = async (table: 'RequestLog' | 'KeyEvent') =>
    Number((await t.gateway.db.sql.query<{ n: number | bigint | string }>(`SELECT COUNT(*) AS "n" FROM "${table}"`))[0]!.n);

  it(`deletes ${OLD_ROWS.toLocaleString('en')} old log rows in bounded batches, keeps the young ones, and reports counts while the proxy serves`, async () => {
    const old = Date.now() - 40 * DAY;
    const rows = Array.from({ length: OLD_ROWS }, (_, i) => ({ createdAt: old + i }));
    await seedLogs(t.gateway, rows);
    await seedKeyEvents(t.gateway, 3000, old);
    await seedLogs(t.gateway, Array.from({ length: 100 }, () => ({ createdAt: Date.now() - DAY })));
    await seedKeyEvents(t.gateway, 10, Date.now() - DAY);
    const target = await proxyTarget(t.url, mock, 'cleanup-load');
    const logsBefore = await count('RequestLog');

    const load = startProxyLoad(t.url, target, 4);
    let result;
    let run;
    try {
      const { runJob } = await gqlOk(t.url, RunJob, { name: 'log-cleanup' });
      run = await t.gateway.jobs.whenFinished(Number(runJob.id));
    } finally {
      result = await load.stop();
    }
    const counts = JSON.parse(run.counts) as Record<string, number>;
    expect(run.status).toBe('SUCCEEDED');
    expect(counts).toMatchObject({ requestLogsDeleted: OLD_ROWS, keyEventsDeleted: 3000, retentionDays: 30 });
    // Bounded: at most 10,000 rows per statement, so at least 20 statements for 200,000 rows.
    expect(counts.batches).toBeGreaterThanOrEqual(OLD_ROWS / 10_000);
    expect(counts.lastBatchRows).toBeLessThanOrEqual(10_000);
    // The young rows and every row the proxy logged meanwhile are still there.
    await t.gateway.logs.flush();
    expect(await count('RequestLog')).toBe(logsBefore - OLD_ROWS + result.requests);
    expect(await count('KeyEvent')).toBe(10);
    expect(result.failures).toEqual([]);
    console.log(`[${provider}] cleanup of ${OLD_ROWS} rows: ${counts.batches} batches, slowest ${counts.slowestBatchMs} ms; proxy during cleanup: ${result.requests} requests, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`);
    if (provider === 'sqlite') {
      expect(counts.checkpoints).toBeGreaterThanOrEqual(2);
      expect(counts.walTruncateBusy).toBeUndefined();
      // Truncated at the end; only the proxy's few log batches since then remain.
      expect(statSync(`${t.gateway.db.target.url.slice('file:'.length)}-wal`).size).toBeLessThan(2 * 1024 * 1024);
    }

    const again = await t.gateway.jobs.whenFinished(Number((await gqlOk(t.url, RunJob, { name: 'log-cleanup' })).runJob.id));
    expect(JSON.parse(again.counts)).toMatchObject({ requestLogsDeleted: 0, keyEventsDeleted: 0 });
  });

  it('also runs on a short schedule', async () => {
    await seedLogs(t.gateway, Array.from({ length: 500 }, (_, i) => ({ createdAt: Date.now() - 31 * DAY + i })));
    const next = t.gateway.jobs.nextRunEnded('log-cleanup', 'schedule');
    await gqlOk(t.url, SetSchedule, { name: 'log-cleanup', schedule: '* * * * * *' });
    try {
      const run = await next;
      expect(run).toMatchObject({ status: 'SUCCEEDED', trigger: 'schedule' });
      expect(JSON.parse(run.counts)).toMatchObject({ requestLogsDeleted: 500 });
    } finally {
      await gqlOk(t.url, SetSchedule, { name: 'log-cleanup', schedule: null });
      await t.gateway.jobs.idle();
    }
  });
});
