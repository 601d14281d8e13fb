// Runs across shutdowns and restarts, gateways with jobs off, and two
// gateways on one PostgreSQL database (the advisory lock).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { PROVIDERS, createTestDatabase, startTestGateway, type TestDatabase, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';
import { ensureBuilt } from './support/ensure-built.ts';
import { jobEvents, patchKey, seedUpstream } from './support/seed.ts';

const RunJob = graphql(`mutation JobsLifeRunJob($name: String!) { runJob(name: $name) { id status } }`);
const Jobs = graphql(`query JobsLifeJobs { jobs { name schedule nextRunAt running lastRun { id status error } } }`);
const JobRuns = graphql(`query JobsLifeRuns($name: String, $first: Int) { jobRuns(name: $name, first: $first) { id job status trigger error } }`);

const HOUR = 3_600_000;

beforeAll(async () => {
  await ensureBuilt();
});

describe.each(PROVIDERS)('job runs across restarts on %s', (provider) => {
  let dataDir: string;
  let database: TestDatabase;
  let t: TestGateway | null = null;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'keyrelay-jobs-'));
    database = await createTestDatabase(provider, dataDir);
  });
  afterAll(async () => {
    await t?.close({ drop: false });
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = (env: Record<string, string> = {}) =>
    startTestGateway({ provider, dataDir, database, env: { KEYRELAY_JOBS: 'true', KEYRELAY_TEST_JOBS: '1', ...env } });

  it('a run cut short by shutdown is recorded FAILED; a RUNNING row orphaned by a crash is failed at the next start', async () => {
    t = await start({ KEYRELAY_JOB_TIMEOUT_MS: '60000' });
    await t.gateway.jobs.idle();
    const { runJob } = await gqlOk(t.url, RunJob, { name: 'test-hang' });
    const stopping = Date.now();
    await t.close({ drop: false }); // the hung worker ignores 'cancel'; it is terminated after the grace period
    t = null;
    // Well short of the 60 s job timeout (it was not waited for), with room for a loaded machine.
    expect(Date.now() - stopping).toBeLessThan(45_000);

    // A row a crashed gateway left behind: RUNNING, started long ago.
    t = await start();
    await t.gateway.jobs.idle();
    const prisma = t.gateway.db.prisma;
    const stopped = await prisma.jobRun.findUniqueOrThrow({ where: { id: Number(runJob.id) } });
    expect(stopped).toMatchObject({ status: 'FAILED', error: 'stopped: the gateway shut down during the run' });
    const orphan = await prisma.jobRun.create({ data: { job: 'log-cleanup', trigger: 'schedule', status: 'RUNNING', startedAt: new Date(Date.now() - 24 * HOUR) } });
    await t.close({ drop: false });
    t = await start();
    await t.gateway.jobs.idle();
    expect(await t.gateway.db.prisma.jobRun.findUniqueOrThrow({ where: { id: orphan.id } })).toMatchObject({ status: 'FAILED', error: expect.stringContaining('interrupted') });
    // Each start ran the catch-up quota reset.
    const runs = await gqlOk(t.url, JobRuns, { name: 'quota-reset', first: 10 });
    expect(runs.jobRuns.filter((r) => r.trigger === 'startup').length).toBeGreaterThanOrEqual(3);
  });

  it('a schedule set through the API survives a restart', async () => {
    t ??= await start();
    await gqlOk(t.url, graphql(`mutation JobsLifeSchedule($name: String!, $schedule: String) { setJobSchedule(name: $name, schedule: $schedule) { schedule } }`), {
      name: 'log-cleanup',
      schedule: '15 3 * * *',
    });
    await t.close({ drop: false });
    t = await start();
    const jobs = (await gqlOk(t.url, Jobs)).jobs;
    expect(jobs.find((j) => j.name === 'log-cleanup')).toMatchObject({ schedule: '15 3 * * *' });
    expect(new Date(jobs.find((j) => j.name === 'log-cleanup')!.nextRunAt!).getUTCHours()).toBe(3);
  });
});

describe('a gateway with KEYRELAY_JOBS=false', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ provider: 'sqlite' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists the jobs without next runs and refuses runJob with CONFLICT', async () => {
    const { jobs } = await gqlOk(t.url, Jobs);
    expect(jobs.map((j) => j.name)).toEqual(['quota-reset', 'key-reenable', 'log-cleanup']);
    expect(jobs.every((j) => j.nextRunAt === null && !j.running)).toBe(true);
    const res = await gql(t.url, RunJob, { name: 'log-cleanup' });
    expect(res.errors?.[0]).toMatchObject({ message: expect.stringContaining('KEYRELAY_JOBS'), extensions: { code: 'CONFLICT' } });
  });
});

describe('job settings from the environment', () => {
  it('a schedule or time zone that cannot run fails the start, naming its variable', async () => {
    await expect(startTestGateway({ env: { KEYRELAY_LOG_CLEANUP_CRON: 'whenever' } })).rejects.toThrow(/KEYRELAY_LOG_CLEANUP_CRON/);
    await expect(startTestGateway({ env: { KEYRELAY_QUOTA_RESET_CRON: '1h' } })).rejects.toThrow(/KEYRELAY_QUOTA_RESET_CRON: must be a cron expression/);
    await expect(startTestGateway({ env: { KEYRELAY_TIMEZONE: 'Mars/Olympus_Mons' } })).rejects.toThrow(/KEYRELAY_TIMEZONE/);
  });
});

describe.runIf(PROVIDERS.includes('postgres'))('two gateways on one PostgreSQL database', () => {
  let dataDir: string;
  let database: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'keyrelay-jobs-pg-'));
    database = await createTestDatabase('postgres', dataDir);
    // Two instances on one database are refused until cluster mode exists; this suite looks ahead to it.
    a = await startTestGateway({ provider: 'postgres', dataDir, database, env: { KEYRELAY_JOBS: 'true', KEYRELAY_TEST_SHARED_DATABASE: 'true' } });
    b = await startTestGateway({ provider: 'postgres', dataDir, database, env: { KEYRELAY_JOBS: 'true', KEYRELAY_TEST_SHARED_DATABASE: 'true' } });
    await Promise.all([a.gateway.jobs.idle(), b.gateway.jobs.idle()]);
  });
  afterAll(async () => {
    await b?.close({ drop: false });
    await a?.close({ drop: false });
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a job whose advisory lock another session holds is skipped, and runs once the lock is free', async () => {
    const up = await seedUpstream(a.url, { name: 'locked' }, [{ name: 'k' }]);
    await patchKey(a.gateway, up.keys.k!, { status: 'DISABLED', disabledUntil: Date.now() - HOUR });
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(${0x6b72}, hashtext('keyrelay:job:key-reenable'))`);
      const skipped = await a.gateway.jobs.whenFinished((await a.gateway.jobs.run('key-reenable')).id);
      expect(skipped.status).toBe('SUCCEEDED');
      expect(JSON.parse(skipped.counts)).toEqual({ skipped: "another instance holds this job's advisory lock" });
      expect(a.gateway.state.keys.get(up.keys.k!)!.status).toBe('DISABLED');
    } finally {
      await holder.end(); // the session ends, and its lock with it
    }
    const ran = await a.gateway.jobs.whenFinished((await a.gateway.jobs.run('key-reenable')).id);
    expect(JSON.parse(ran.counts)).toMatchObject({ keysReenabled: 1 });
    expect(a.gateway.state.keys.get(up.keys.k!)!.status).toBe('ACTIVE');
  });

  it('the same job started on both gateways at once returns a key once: one JOB event', async () => {
    const up = await seedUpstream(a.url, { name: 'twice' }, [{ name: 'k' }]);
    await patchKey(a.gateway, up.keys.k!, { status: 'DISABLED', disabledUntil: Date.now() - HOUR });
    await b.gateway.state.reloadKey(up.keys.k!);
    const [ra, rb] = await Promise.all([a.gateway.jobs.run('key-reenable'), b.gateway.jobs.run('key-reenable')]);
    const [fa, fb] = await Promise.all([a.gateway.jobs.whenFinished(ra.id), b.gateway.jobs.whenFinished(rb.id)]);
    expect([fa.status, fb.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const total = [fa, fb].map((r) => JSON.parse(r.counts) as { keysReenabled?: number }).reduce((n, c) => n + (c.keysReenabled ?? 0), 0);
    expect(total).toBe(1);
    expect(await jobEvents(a.gateway, [up.keys.k!])).toHaveLength(1);
  });
});
