import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../support/cluster-instances.ts';

// Two cluster-mode instances of the built gateway (npm run -s build first) on
// one PostgreSQL database: each schedule tick of a job runs on one of them.
describe('scheduled jobs across two instances', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster(2, { KEYRELAY_JOBS: 'true', KEYRELAY_QUOTA_RESET_CRON: '*/2 * * * * *' });
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('a quota-reset scheduled every 2 s runs once per tick', async () => {
    const db = new pg.Client({ connectionString: cluster.database.url });
    await db.connect();
    try {
      const since = Date.now();
      // Ticks from now on find both instances armed.
      await new Promise((resolve) => setTimeout(resolve, 9_000));
      const { rows } = await db.query<{ tick: Date; runs: string; statuses: string[] }>(
        `SELECT "scheduledFor" AS tick, COUNT(*) AS runs, array_agg("status"::text) AS statuses FROM "JobRun"
         WHERE "job" = 'quota-reset' AND "trigger" = 'schedule' AND "scheduledFor" >= $1 GROUP BY 1 ORDER BY 1`,
        [new Date(since)],
      );
      const unclaimed = await db.query(`SELECT COUNT(*) AS n FROM "JobRun" WHERE "trigger" = 'schedule' AND "scheduledFor" IS NULL`);
      expect(Number(unclaimed.rows[0].n)).toBe(0);
      // 9 s of a 2 s schedule: at least 4 ticks, each one run, none of them skipped, on consecutive even seconds.
      expect(rows.length, JSON.stringify(rows)).toBeGreaterThanOrEqual(4);
      for (const row of rows) expect(Number(row.runs), JSON.stringify(row)).toBe(1);
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.tick.getTime() - rows[i - 1]!.tick.getTime()).toBe(2000);
      const skipped = await db.query(`SELECT COUNT(*) AS n FROM "JobRun" WHERE "job" = 'quota-reset' AND "counts" LIKE '%skipped%'`);
      expect(Number(skipped.rows[0].n)).toBe(0);
    } finally {
      await db.end();
    }
  }, 60_000);
});
