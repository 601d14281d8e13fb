// quota-reset and key-reenable, run in Bree workers from the compiled job
// files, on both databases: started through runJob and by a short schedule,
// observed in the rows, in memory, in the audit trail and by a live subscriber.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { nextQuotaResetAt } from '../../../src/keys/quota-schedule.ts';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { ensureBuilt } from './support/ensure-built.ts';
import { addCooldown, jobEvents, keyRows, patchKey, seedUpstream } from './support/seed.ts';
import { watchKeyChanges } from './support/watch-keys.ts';

const RunJob = graphql(`mutation JobsRunJob($name: String!) { runJob(name: $name) { id job status trigger startedAt finishedAt } }`);
const SetSchedule = graphql(`
  mutation JobsSetScheduleShort($name: String!, $schedule: String) { setJobSchedule(name: $name, schedule: $schedule) { name schedule scheduleSource nextRunAt } }
`);

const HOUR = 3_600_000;

describe.each(PROVIDERS)('key jobs on %s', (provider) => {
  let t: TestGateway;
  let mock: MockUpstream;

  beforeAll(async () => {
    await ensureBuilt();
    mock = await startMockUpstream();
    t = await startTestGateway({ provider, env: { KEYRELAY_JOBS: 'true' } });
    await t.gateway.jobs.idle(); // the start-up catch-up quota reset
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  async function runJob(name: string) {
    const { runJob } = await gqlOk(t.url, RunJob, { name });
    expect(runJob).toMatchObject({ job: name, status: 'RUNNING', trigger: 'manual', finishedAt: null });
    return t.gateway.jobs.whenFinished(Number(runJob.id));
  }

  it('quota-reset resets due keys once per period, returns EXHAUSTED keys with a JOB event a subscriber sees, and changes nothing when run again', async () => {
    const up = await seedUpstream(t.url, { name: 'quota-jobs' }, [{ name: 'spent', quota: 10 }, { name: 'used', quota: 10 }, { name: 'later', quota: 10 }]);
    const now = Date.now();
    await patchKey(t.gateway, up.keys.spent!, { status: 'EXHAUSTED', quotaUsed: 10, quotaResetAt: now - 60_000 });
    await patchKey(t.gateway, up.keys.used!, { quotaUsed: 4, quotaResetAt: now - 60_000 });
    await patchKey(t.gateway, up.keys.later!, { quotaUsed: 7, quotaResetAt: now + HOUR });
    const ids = Object.values(up.keys);
    const watch = watchKeyChanges(t.gateway, up.id);
    await watch.listening;

    const run = await runJob('quota-reset');
    expect(run).toMatchObject({ status: 'SUCCEEDED', error: null, trigger: 'manual' });
    expect(JSON.parse(run.counts)).toMatchObject({ quotasReset: 2, keysReactivated: 1 });

    const seen = await watch.next((c) => c.keyName === 'spent');
    expect(seen).toMatchObject({ from: 'EXHAUSTED', to: 'ACTIVE', actor: 'JOB', reason: 'quota reset' });
    const spent = t.gateway.state.keys.get(up.keys.spent!)!;
    expect(spent).toMatchObject({ status: 'ACTIVE', used: 0 });
    expect(t.gateway.state.keys.get(up.keys.used!)!.used).toBe(0);
    expect(t.gateway.state.keys.get(up.keys.later!)!.used).toBe(7);
    const next = nextQuotaResetAt({ quotaResetCron: null, quotaResetTimezone: null }, '0 0 * * *', 'UTC', now);
    expect(spent.quotaResetAt).toBe(next);

    expect(t.gateway.state.upstreamsById.get(up.id)!.pool.usableCount).toBe(3);
    const rows = await keyRows(t.gateway, ids);
    expect(Object.fromEntries(rows.map((r) => [r.id, [r.status, r.quotaUsed]]))).toEqual({
      [up.keys.spent!]: ['ACTIVE', 0],
      [up.keys.used!]: ['ACTIVE', 0],
      [up.keys.later!]: ['ACTIVE', 7],
    });
    const events = await jobEvents(t.gateway, ids);
    expect(events).toMatchObject([{ keyId: up.keys.spent, fromStatus: 'EXHAUSTED', toStatus: 'ACTIVE', actor: 'JOB' }]);

    const again = await runJob('quota-reset');
    expect(JSON.parse(again.counts)).toMatchObject({ quotasReset: 0, keysReactivated: 0 });
    expect(await keyRows(t.gateway, ids)).toEqual(rows);
    expect(await jobEvents(t.gateway, ids)).toHaveLength(1);
    expect(watch.changes).toHaveLength(1);
    await watch.close();
  });

  it('quota-reset follows an upstream\'s own schedule and time zone, and the job\'s next run covers it', async () => {
    const up = await seedUpstream(t.url, { name: 'quota-pacific', quotaResetCron: '30 0 * * *', quotaResetTimezone: 'America/Los_Angeles' }, [{ name: 'p', quota: 5 }]);
    const now = Date.now();
    await patchKey(t.gateway, up.keys.p!, { status: 'EXHAUSTED', quotaUsed: 5, quotaResetAt: now - 1000 });
    const run = await runJob('quota-reset');
    expect(JSON.parse(run.counts)).toMatchObject({ quotasReset: 1, keysReactivated: 1 });
    const pacific = nextQuotaResetAt({ quotaResetCron: '30 0 * * *', quotaResetTimezone: 'America/Los_Angeles' }, '0 0 * * *', 'UTC', now);
    expect(t.gateway.state.keys.get(up.keys.p!)!.quotaResetAt).toBe(pacific);
    const job = (await t.gateway.jobs.list()).find((j) => j.name === 'quota-reset')!;
    const utc = nextQuotaResetAt({ quotaResetCron: null, quotaResetTimezone: null }, '0 0 * * *', 'UTC', now);
    expect(job.nextRunAt).toBe(Math.min(pacific!, utc!));
  });

  it('key-reenable returns overdue DISABLED keys and clears expired model cooldowns, with events; a second run changes nothing', async () => {
    const up = await seedUpstream(t.url, { name: 'reenable-jobs' }, [{ name: 'overdue' }, { name: 'resting' }]);
    const now = Date.now();
    await patchKey(t.gateway, up.keys.overdue!, { status: 'DISABLED', disabledUntil: now - HOUR });
    await patchKey(t.gateway, up.keys.resting!, { status: 'DISABLED', disabledUntil: now + HOUR });
    await addCooldown(t.gateway, up.keys.resting!, 'gpt-x', now - HOUR);
    await addCooldown(t.gateway, up.keys.resting!, 'gpt-y', now + HOUR);
    const ids = Object.values(up.keys);
    const watch = watchKeyChanges(t.gateway, up.id);
    await watch.listening;

    const run = await runJob('key-reenable');
    expect(run.status).toBe('SUCCEEDED');
    expect(JSON.parse(run.counts)).toMatchObject({ keysReenabled: 1, cooldownsCleared: 1, probesFailed: 0 });
    await watch.next((c) => c.keyName === 'overdue' && c.to === 'ACTIVE');
    await watch.next((c) => c.model === 'gpt-x');
    expect(t.gateway.state.keys.get(up.keys.overdue!)).toMatchObject({ status: 'ACTIVE', disabledUntil: null });
    const resting = t.gateway.state.keys.get(up.keys.resting!)!;
    expect(resting.status).toBe('DISABLED');
    expect([...resting.modelCooldowns.keys()]).toEqual(['gpt-y']);
    expect(t.gateway.state.upstreamsById.get(up.id)!.pool.usableCount).toBe(1); // the pool offers the returned key again

    const rows = await keyRows(t.gateway, ids);
    const events = await jobEvents(t.gateway, ids);
    expect(events.map((e) => [e.keyId, e.fromStatus, e.toStatus, e.model])).toEqual(
      expect.arrayContaining([
        [up.keys.overdue, 'DISABLED', 'ACTIVE', null],
        [up.keys.resting, 'DISABLED', 'DISABLED', 'gpt-x'],
      ]),
    );
    expect(events).toHaveLength(2);

    const again = await runJob('key-reenable');
    expect(JSON.parse(again.counts)).toMatchObject({ keysReenabled: 0, cooldownsCleared: 0 });
    expect(await keyRows(t.gateway, ids)).toEqual(rows);
    expect(await jobEvents(t.gateway, ids)).toHaveLength(2);
    await watch.close();
  });

  it('key-reenable probes keys of an upstream with a probe: a passing key returns, a failing one stays out longer', async () => {
    const GOOD = 'sk-probe-good-0000000000000000000001';
    const BAD = 'sk-probe-bad-00000000000000000000002';
    mock.byKey[BAD] = 'status:401';
    const up = await seedUpstream(t.url, { name: 'probed-jobs', baseUrl: mock.url, probe: { method: 'GET', path: '/v1/models', expectStatus: 200 } }, [
      { name: 'good', value: GOOD },
      { name: 'bad', value: BAD },
    ]);
    const now = Date.now();
    for (const id of Object.values(up.keys)) await patchKey(t.gateway, id, { status: 'DISABLED', disabledUntil: now - HOUR });
    const hits = mock.hits;

    const run = await runJob('key-reenable');
    expect(JSON.parse(run.counts)).toMatchObject({ keysReenabled: 1, probesFailed: 1 });
    expect(mock.hits - hits).toBe(2);
    expect(mock.keysSeen.slice(-2).sort()).toEqual([BAD, GOOD].sort());
    expect(t.gateway.state.keys.get(up.keys.good!)!.status).toBe('ACTIVE');
    const bad = t.gateway.state.keys.get(up.keys.bad!)!;
    expect(bad.status).toBe('DISABLED');
    expect(bad.disabledUntil).toBeGreaterThan(Date.now());
    const events = await jobEvents(t.gateway, [up.keys.bad!]);
    expect(events).toMatchObject([{ fromStatus: 'DISABLED', toStatus: 'DISABLED', reason: 'probe failed: expected status 200, got 401' }]);
    // Secrets stay in the worker: not in the run row, not in the log.
    expect(JSON.stringify(run)).not.toContain('sk-probe');
    expect(t.logLines.join('\n')).not.toContain('sk-probe');
  });

  it('each key job also runs on a short schedule and records a scheduled JobRun', { timeout: 120_000 }, async () => {
    const up = await seedUpstream(t.url, { name: 'scheduled-jobs' }, [{ name: 'q', quota: 3 }, { name: 'd' }]);
    const now = Date.now();
    await patchKey(t.gateway, up.keys.q!, { status: 'EXHAUSTED', quotaUsed: 3, quotaResetAt: now - 1000 });
    await patchKey(t.gateway, up.keys.d!, { status: 'DISABLED', disabledUntil: now - HOUR });
    try {
      const quota = t.gateway.jobs.nextRunEnded('quota-reset', 'schedule');
      const set = await gqlOk(t.url, SetSchedule, { name: 'quota-reset', schedule: '* * * * * *' });
      expect(set.setJobSchedule).toMatchObject({ schedule: '* * * * * *', scheduleSource: 'setting' });
      expect(Date.parse(set.setJobSchedule.nextRunAt!)).toBeLessThanOrEqual(Date.now() + 1000);
      expect(await quota).toMatchObject({ status: 'SUCCEEDED', trigger: 'schedule' });
      await gqlOk(t.url, SetSchedule, { name: 'quota-reset', schedule: null });
      expect(t.gateway.state.keys.get(up.keys.q!)).toMatchObject({ status: 'ACTIVE', used: 0 });

      const reenable = t.gateway.jobs.nextRunEnded('key-reenable', 'schedule');
      await gqlOk(t.url, SetSchedule, { name: 'key-reenable', schedule: '1s' });
      expect(await reenable).toMatchObject({ status: 'SUCCEEDED', trigger: 'schedule' });
      expect(t.gateway.state.keys.get(up.keys.d!)!.status).toBe('ACTIVE');
    } finally {
      await gqlOk(t.url, SetSchedule, { name: 'quota-reset', schedule: null });
      await gqlOk(t.url, SetSchedule, { name: 'key-reenable', schedule: null });
      await t.gateway.jobs.idle();
    }
    const back = await t.gateway.jobs.list();
    expect(back.find((j) => j.name === 'key-reenable')).toMatchObject({ schedule: '10m', scheduleSource: 'environment' });
  });
});
