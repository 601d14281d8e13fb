import { EventEmitter } from 'node:events';
import { ConfigError, type Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import { ConflictError, NotFoundError, UserInputError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import type { JobRun } from '../generated/prisma/client.ts';
import type { KeyLifecycle } from '../keys/lifecycle.ts';
import type { UsageCounters } from '../keys/usage-counters.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import { BreeRunner } from './bree-runner.ts';
import { jobDefinitions, type JobDefinition } from './definitions.ts';
import { jobRunStore } from './job-runs.ts';
import { TEST_JOB_NAMES, type JobTrigger, type RunData } from './messages.ts';
import { upstreamQuotaSchedules, watchUpstreamChanges } from './quota-triggers.ts';
import { RunTracker } from './run-tracker.ts';
import { ScheduleError, isTimeZone, parseSchedule, startTrigger, type Schedule, type Trigger } from './schedule.ts';
import { loadScheduleOverrides, saveScheduleOverride } from './schedule-store.ts';
import { testJobFile, workerRoot } from './worker-root.ts';

/** key-reenable leaves keys overdue by less than this to the lifecycle's own timers (no double return). */
const REENABLE_GRACE_MS = 30_000;
/** At shutdown, how long running jobs get to stop between batches before their threads are terminated. */
const STOP_GRACE_MS = 3000;

export interface JobServiceDeps {
  config: Config;
  db: Db;
  state: GatewayState;
  events: EventBus;
  lifecycle: KeyLifecycle;
  log: Logger;
  /** For key-reenable's probes only (the worker decrypts the keys it probes). */
  masterKey: Buffer;
  usage?: Pick<UsageCounters, 'discardQuota'> | null;
}

export interface JobView {
  name: string;
  description: string;
  schedule: string;
  scheduleSource: 'environment' | 'setting';
  timezone: string;
  nextRunAt: number | null;
  running: boolean;
}

/**
 * The scheduled jobs: when they run (croner triggers, one per schedule),
 * what they run (Bree worker threads over the compiled job files), and what
 * each run did (JobRun rows, key changes applied and published). `load()`
 * reads the stored schedules; `start()` arms the triggers (KEYRELAY_JOBS);
 * a gateway with jobs off still lists them but runs none.
 */
export class JobService {
  private readonly defs: Map<string, JobDefinition>;
  private overrides = new Map<string, string>();
  private runner: BreeRunner | null = null;
  private tracker: RunTracker | null = null;
  private readonly triggers = new Map<string, Trigger[]>();
  /** Per job, the tick that fired while it ran: it runs right after. */
  private readonly rerun = new Map<string, number>();
  private stopWatching: (() => Promise<void>) | null = null;
  private stopping = false;
  private readonly runs;
  private readonly ended = new EventEmitter();

  constructor(private readonly deps: JobServiceDeps) {
    this.defs = new Map(jobDefinitions(deps.config).map((d) => [d.name, d]));
    this.runs = jobRunStore(deps.db.prisma);
  }

  async load(): Promise<void> {
    const { KEYRELAY_TIMEZONE: timezone } = this.deps.config;
    if (!isTimeZone(timezone)) throw new ConfigError('KEYRELAY_TIMEZONE', `unknown time zone "${timezone}"`);
    // A bad environment schedule fails the start, naming its variable.
    for (const def of this.defs.values()) {
      let schedule: Schedule;
      try {
        schedule = parseSchedule(def.defaultSchedule, timezone);
      } catch (error) {
        throw new ConfigError(def.variable, (error as Error).message);
      }
      if (def.cronOnly && schedule.kind !== 'cron') throw new ConfigError(def.variable, 'must be a cron expression (it is also the quota period)');
    }
    this.overrides = await loadScheduleOverrides(this.deps.db.prisma);
  }

  async start(): Promise<void> {
    const { config, log } = this.deps;
    const orphans = await this.runs.failOrphans(new Date(Date.now() - config.KEYRELAY_JOB_TIMEOUT_MS - 60_000));
    if (orphans.count) log.warn({ count: orphans.count }, 'marked job runs left RUNNING by a stopped gateway as FAILED');
    const tracker = new RunTracker({ ...this.deps, runs: this.runs, timeoutMs: config.KEYRELAY_JOB_TIMEOUT_MS, onEnded: (job, runId) => this.afterRun(job, runId) });
    const files = Object.fromEntries(TEST_JOB_NAMES.filter((name) => this.defs.has(name)).map((name) => [name, testJobFile(name)]));
    const runner = new BreeRunner({ root: workerRoot(), jobs: [...this.defs.keys()], files, timeoutMs: config.KEYRELAY_JOB_TIMEOUT_MS, log, events: tracker });
    await runner.init();
    this.tracker = tracker;
    this.runner = runner;
    for (const name of this.defs.keys()) this.arm(name);
    // An upstream's own quota schedule may have changed: re-arm quota-reset's triggers.
    this.stopWatching = watchUpstreamChanges(this.deps.events, () => !this.stopping && this.arm('quota-reset'), log);
    // A quota period may have ended while no gateway ran: catch up (the job is idempotent).
    void this.fire('quota-reset', 'startup');
    log.info({ jobs: (await this.list()).map((j) => ({ name: j.name, schedule: j.schedule, nextRunAt: j.nextRunAt && new Date(j.nextRunAt).toISOString() })) }, 'jobs scheduled');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const list of this.triggers.values()) for (const t of list) t.stop();
    this.triggers.clear();
    await this.stopWatching?.();
    this.tracker?.markStopping();
    await this.runner?.stopAll(STOP_GRACE_MS);
    await this.tracker?.idle();
  }

  /** The global quota period (Setting or KEYRELAY_QUOTA_RESET_CRON), which the rule runtime's QUOTA_RESET disables also use. */
  quotaCron(): string {
    return this.scheduleOf('quota-reset').text;
  }

  async list(): Promise<JobView[]> {
    return [...this.defs.keys()].map((name) => this.view(name));
  }

  /** Starts a job now; resolves with its RUNNING JobRun row. */
  async run(name: string, trigger: JobTrigger = 'manual'): Promise<JobRun> {
    const row = await this.startRun(name, trigger, null);
    // Only a scheduled tick can be claimed elsewhere.
    if (row === null) throw new ConflictError(`${name} is already running`, 'name');
    return row;
  }

  /** Starts a run; for a schedule tick, null when another instance on the database claimed it. */
  private async startRun(name: string, trigger: JobTrigger, tick: number | null): Promise<JobRun | null> {
    this.definition(name);
    if (!this.runner || !this.tracker) throw new ConflictError('jobs are disabled on this gateway (KEYRELAY_JOBS=false)', 'name');
    if (this.stopping) throw new ConflictError('the gateway is shutting down', 'name');
    if (this.tracker.isActive(name) || this.runner.isRunning(name)) throw new ConflictError(`${name} is already running`, 'name');
    const runner = this.runner;
    return this.tracker.begin(name, trigger, (runId) => runner.run(name, this.runData(name, runId, trigger)), tick);
  }

  /** Resolves with the run's final row once it has ended (for tests and tools). */
  async whenFinished(runId: number): Promise<JobRun> {
    await this.tracker?.finished(runId);
    return this.deps.db.prisma.jobRun.findUniqueOrThrow({ where: { id: runId } });
  }

  /**
   * Resolves with the final row of the next run of `name` to end (for tests:
   * await a scheduled run). With `trigger`, runs started otherwise are passed
   * over: a manual run that just finished may still announce its end.
   */
  nextRunEnded(name: string, trigger?: string): Promise<JobRun> {
    return new Promise((resolve, reject) => {
      const listener = (job: string, runId: number) => {
        if (job !== name) return;
        this.deps.db.prisma.jobRun.findUniqueOrThrow({ where: { id: runId } }).then((row) => {
          if (trigger !== undefined && row.trigger !== trigger) return;
          this.ended.off('run', listener);
          resolve(row);
        }, reject);
      };
      this.ended.on('run', listener);
    });
  }

  /** Resolves when no job is running. */
  idle(): Promise<void> {
    return this.tracker?.idle() ?? Promise.resolve();
  }

  /** Stores a schedule (null: back to the environment's) and applies it at once. */
  async setSchedule(name: string, schedule: string | null): Promise<JobView> {
    const def = this.definition(name);
    if (schedule !== null) {
      const parsed = this.parse(schedule, 'schedule');
      if (def.cronOnly && parsed.kind !== 'cron') throw new UserInputError(`${name} takes a cron expression: its schedule is also the quota period`, 'schedule');
    }
    const text = schedule === null ? null : schedule.trim();
    await saveScheduleOverride(this.deps.db.prisma, name, text);
    if (text === null) this.overrides.delete(name);
    else this.overrides.set(name, text);
    if (this.runner && !this.stopping) this.arm(name);
    this.deps.log.info({ job: name, schedule: this.scheduleOf(name).text }, 'job schedule changed');
    return this.view(name);
  }

  private definition(name: string): JobDefinition {
    const def = this.defs.get(name);
    if (!def) throw new NotFoundError(`no job named "${name}"`, 'name');
    return def;
  }

  private parse(text: string, field: string, timezone = this.deps.config.KEYRELAY_TIMEZONE): Schedule {
    try {
      return parseSchedule(text, timezone);
    } catch (error) {
      if (error instanceof ScheduleError) throw new UserInputError(error.message, field);
      throw error;
    }
  }

  private scheduleOf(name: string): Schedule {
    const def = this.definition(name);
    const stored = this.overrides.get(name);
    if (stored !== undefined) {
      try {
        return this.parse(stored, 'schedule');
      } catch {
        this.deps.log.warn({ job: name, schedule: stored }, 'ignoring a stored job schedule that no longer parses');
      }
    }
    return this.parse(def.defaultSchedule, 'schedule');
  }

  private view(name: string): JobView {
    const def = this.definition(name);
    const schedule = this.scheduleOf(name);
    const next = (this.triggers.get(name) ?? []).map((t) => t.nextRunAt()).filter((n): n is number => n !== null);
    return {
      name,
      description: def.description,
      schedule: schedule.text,
      scheduleSource: this.overrides.has(name) ? 'setting' : 'environment',
      timezone: this.deps.config.KEYRELAY_TIMEZONE,
      nextRunAt: next.length ? Math.min(...next) : null,
      running: this.tracker?.isActive(name) ?? false,
    };
  }

  /** (Re)arms a job's triggers: its schedule, plus for quota-reset each distinct upstream schedule. */
  private arm(name: string): void {
    for (const t of this.triggers.get(name) ?? []) t.stop();
    const schedules = [this.scheduleOf(name)];
    if (name === 'quota-reset') schedules.push(...upstreamQuotaSchedules(this.deps.state, schedules[0]!, this.deps.config.KEYRELAY_TIMEZONE, this.deps.log));
    // Several instances on one database claim each tick by its time, so their periods must name the same times.
    const aligned = this.deps.config.cluster;
    this.triggers.set(name, schedules.map((s) => startTrigger(s, (tick) => void this.fire(name, 'schedule', tick), { aligned })));
  }

  /**
   * A schedule fired: run now, or once more right after the run in progress
   * (so a due period is never skipped). Each tick runs once on the database:
   * the instance whose JobRun row claims it first runs it, the others skip it.
   */
  private async fire(name: string, trigger: JobTrigger, tick: number | null = null): Promise<void> {
    if (this.stopping || !this.tracker) return;
    if (this.tracker.isActive(name)) {
      if (tick !== null) this.rerun.set(name, tick);
      return;
    }
    try {
      const row = await this.startRun(name, trigger, tick);
      if (row === null) this.deps.log.debug({ job: name, tick: new Date(tick!).toISOString() }, 'schedule tick claimed by another instance');
    } catch (error) {
      this.deps.log.error({ job: name, err: error }, 'a scheduled job could not start');
    }
  }

  private afterRun(name: string, runId: number): void {
    this.ended.emit('run', name, runId);
    const tick = this.rerun.get(name);
    this.rerun.delete(name);
    if (tick !== undefined && !this.stopping) void this.fire(name, 'schedule', tick);
  }

  private runData(name: string, runId: number, trigger: JobTrigger): RunData {
    const { config, db, state, masterKey } = this.deps;
    const probes = name === 'key-reenable' && [...state.upstreamsById.values()].some((u) => u.config.probe !== null);
    return {
      job: name,
      runId,
      trigger,
      database: db.target,
      ...(probes ? { masterKey: masterKey.toString('base64') } : {}),
      settings: {
        retentionDays: config.KEYRELAY_RETENTION_DAYS,
        cleanupBatchRows: config.KEYRELAY_LOG_CLEANUP_BATCH,
        quotaSchedule: this.quotaCron(),
        timezone: config.KEYRELAY_TIMEZONE,
        reenableGraceMs: REENABLE_GRACE_MS,
      },
    };
  }
}
