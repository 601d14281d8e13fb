// Jobs that throw, exit or hang (test-only job files, compiled like the
// others and registered only with KEYRELAY_TEST_JOBS): each run is recorded
// FAILED with its reason, the hung worker is killed after
// KEYRELAY_JOB_TIMEOUT_MS, the next scheduled run tries again, and proxied
// traffic running all the while gets nothing but 200s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { ensureBuilt } from './support/ensure-built.ts';
import { proxyTarget, startProxyLoad } from './support/load.ts';

const RunJob = graphql(`mutation JobsFaultRunJob($name: String!) { runJob(name: $name) { id status } }`);
const Jobs = graphql(`query JobsFaultJobs { jobs { name running lastRun { id status error trigger } } }`);
const SetSchedule = graphql(`mutation JobsFaultSchedule($name: String!, $schedule: String) { setJobSchedule(name: $name, schedule: $schedule) { name schedule nextRunAt } }`);

// Generous: on a loaded machine a worker can take seconds to start (module load, its own database connection, the advisory lock).
const TIMEOUT_MS = 6000;

describe.each(PROVIDERS)('job faults on %s', (provider) => {
  let t: TestGateway;
  let mock: MockUpstream;
  let target: { path: string; token: string };

  beforeAll(async () => {
    await ensureBuilt();
    mock = await startMockUpstream();
    t = await startTestGateway({ provider, env: { KEYRELAY_JOBS: 'true', KEYRELAY_TEST_JOBS: '1', KEYRELAY_JOB_TIMEOUT_MS: String(TIMEOUT_MS) } });
    await t.gateway.jobs.idle();
    target = await proxyTarget(t.url, mock, 'fault-load');
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  async function runToEnd(name: string) {
    const { runJob } = await gqlOk(t.url, RunJob, { name });
    expect(runJob.status).toBe('RUNNING');
    return t.gateway.jobs.whenFinished(Number(runJob.id));
  }

  it('a job that throws, one that exits and one that hangs are recorded FAILED, the hung one killed, while proxy traffic sees no errors', async () => {
    const load = startProxyLoad(t.url, target);
    try {
      const thrown = await runToEnd('test-throw');
      expect(thrown).toMatchObject({ status: 'FAILED', error: 'test-throw: failing on purpose' });
      const exited = await runToEnd('test-exit');
      expect(exited).toMatchObject({ status: 'FAILED', error: expect.stringContaining('exited with code 3') });

      const { runJob } = await gqlOk(t.url, RunJob, { name: 'test-hang' });
      const again = await gql(t.url, RunJob, { name: 'test-hang' });
      expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT' });
      expect((await gqlOk(t.url, Jobs)).jobs.find((j) => j.name === 'test-hang')).toMatchObject({ running: true, lastRun: { id: runJob.id, status: 'RUNNING' } });
      const hung = await t.gateway.jobs.whenFinished(Number(runJob.id));
      expect(hung).toMatchObject({ status: 'FAILED', error: `killed after ${TIMEOUT_MS} ms (KEYRELAY_JOB_TIMEOUT_MS)` });
      expect(hung.finishedAt!.getTime() - hung.startedAt.getTime()).toBeGreaterThanOrEqual(TIMEOUT_MS);
      expect(JSON.parse(hung.counts)).toEqual({ spinning: true }); // its last progress report
      expect((await gqlOk(t.url, Jobs)).jobs.every((j) => !j.running)).toBe(true);
      expect(t.logLines.some((l) => l.includes('"job":"test-hang"') && l.includes('job failed'))).toBe(true);
    } finally {
      const result = await load.stop();
      expect(result.failures).toEqual([]);
      expect(result.requests).toBeGreaterThan(20);
    }
  });

  it('a failing job is tried again on its next scheduled run, and the gateway keeps serving', async () => {
    const first = t.gateway.jobs.nextRunEnded('test-throw', 'schedule');
    await gqlOk(t.url, SetSchedule, { name: 'test-throw', schedule: '* * * * * *' });
    try {
      expect(await first).toMatchObject({ status: 'FAILED', trigger: 'schedule' });
      const second = await t.gateway.jobs.nextRunEnded('test-throw', 'schedule');
      expect(second).toMatchObject({ status: 'FAILED', trigger: 'schedule' });
    } finally {
      await gqlOk(t.url, SetSchedule, { name: 'test-throw', schedule: 'off' });
      await t.gateway.jobs.idle();
    }
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    const ok = await fetch(`${t.url}${target.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-test', messages: [] }),
    });
    expect(ok.status).toBe(200);
  });

  it('rejects unknown jobs and bad schedules with coded errors', async () => {
    const unknown = await gql(t.url, RunJob, { name: 'nope' });
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'name' });
    const bad = await gql(t.url, SetSchedule, { name: 'key-reenable', schedule: 'every tuesday' });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'schedule' });
    const zone = await gql(t.url, SetSchedule, { name: 'log-cleanup', schedule: '61 2 * * *' });
    expect(zone.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'schedule' });
    const period = await gql(t.url, SetSchedule, { name: 'quota-reset', schedule: '10m' });
    expect(period.errors?.[0]).toMatchObject({ message: expect.stringContaining('cron expression'), extensions: { code: 'BAD_USER_INPUT', field: 'schedule' } });
  });
});
