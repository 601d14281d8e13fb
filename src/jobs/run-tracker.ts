import { EventEmitter } from 'node:events';
import type { JobRun } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import { applyKeysChanged, type ApplyDeps } from './apply-changes.ts';
import type { WorkerEvents } from './bree-runner.ts';
import type { JobRunStore } from './job-runs.ts';
import { workerMessageSchema, type JobCounts, type JobTrigger } from './messages.ts';

const PROGRESS_WRITE_MS = 1000;

interface ActiveRun {
  runId: number;
  job: string;
  startedAt: number;
  counts: JobCounts | null;
  /** The worker posted its typed 'done'. */
  done: boolean;
  /** The first error seen; later ones (Bree reports a throw, then the exit) add nothing. */
  error: string | null;
  /** Key changes are applied in the order the worker sent them. */
  applying: Promise<void>;
  progressWrittenAt: number;
}

export interface RunTrackerDeps extends ApplyDeps {
  log: Logger;
  runs: JobRunStore;
  timeoutMs: number;
  /** After the run's row is final. */
  onEnded(job: string, runId: number): void;
}

/**
 * Follows each run from its RUNNING row to SUCCEEDED or FAILED. A run
 * succeeds only when its worker posted `done` and nothing failed; a throw, a
 * non-zero exit, a kill after the timeout, or an exit without `done` is a
 * FAILED run with the reason in `error`. The gateway itself never sees the
 * failure: the worker is a thread, its errors arrive as events.
 */
export class RunTracker implements WorkerEvents {
  private readonly active = new Map<string, ActiveRun>();
  private readonly finishing = new Set<Promise<void>>();
  private readonly notify = new EventEmitter();
  private stopping = false;

  constructor(private readonly deps: RunTrackerDeps) {
    this.notify.setMaxListeners(0);
  }

  isActive(job: string): boolean {
    return this.active.has(job);
  }

  /**
   * Records the RUNNING row, then starts the worker; the slot is taken
   * synchronously, so two callers cannot both start one job. A scheduled run
   * names its `tick`: null when another instance claimed that tick first.
   */
  async begin(job: string, trigger: JobTrigger, start: (runId: number) => Promise<void>, tick: number | null = null): Promise<JobRun | null> {
    const run: ActiveRun = { runId: 0, job, startedAt: Date.now(), counts: null, done: false, error: null, applying: Promise.resolve(), progressWrittenAt: 0 };
    this.active.set(job, run);
    let row: JobRun | null = null;
    try {
      row = await this.deps.runs.create(job, trigger, tick);
      if (row === null) {
        this.active.delete(job);
        this.notify.emit('ended');
        return null;
      }
      run.runId = row.id;
      run.startedAt = row.startedAt.getTime();
      await start(row.id);
      this.deps.log.info({ job, runId: row.id, trigger }, 'job started');
      return row;
    } catch (error) {
      this.active.delete(job);
      if (row) await this.deps.runs.finish(row.id, { ok: false, counts: null, error: `could not start: ${describe(error)}` }).catch(() => {});
      if (row) this.notify.emit(String(row.id));
      this.notify.emit('ended');
      throw error;
    }
  }

  markStopping(): void {
    this.stopping = true;
  }

  message(job: string, message: unknown): void {
    const run = this.active.get(job);
    if (!run || message === 'done') return; // Bree's own 'done'; the typed one carried the counts
    const parsed = workerMessageSchema.safeParse(message);
    if (!parsed.success) {
      run.error ??= 'the worker sent a message outside the protocol';
      this.deps.log.warn({ job, runId: run.runId, issue: parsed.error.issues[0]?.message }, 'invalid job message ignored');
      return;
    }
    const msg = parsed.data;
    if (msg.type === 'keys-changed') {
      run.applying = run.applying
        .then(() => applyKeysChanged(this.deps, msg))
        .catch((error: unknown) => {
          run.error ??= `applying key changes failed: ${describe(error)}`;
          this.deps.log.error({ job, runId: run.runId, err: error }, 'applying key changes from a job failed');
        });
    } else if (msg.type === 'progress') {
      run.counts = msg.counts;
      const now = Date.now();
      if (now - run.progressWrittenAt >= PROGRESS_WRITE_MS) {
        run.progressWrittenAt = now;
        void this.deps.runs.progress(run.runId, msg.counts).catch(() => {});
      }
    } else {
      run.counts = msg.counts;
      run.done = true;
    }
  }

  error(job: string, error: unknown, terminated: boolean): void {
    const run = this.active.get(job);
    if (!run) return;
    if (terminated) run.error ??= this.stopping ? 'stopped: the gateway shut down during the run' : `killed after ${this.deps.timeoutMs} ms (KEYRELAY_JOB_TIMEOUT_MS)`;
    run.error ??= describe(error);
  }

  ended(job: string): void {
    const run = this.active.get(job);
    if (!run) return;
    const finishing = this.finish(run).finally(() => this.finishing.delete(finishing));
    this.finishing.add(finishing);
  }

  /** Resolves once the run has ended and its row is final. */
  finished(runId: number): Promise<void> {
    const running = [...this.active.values()].some((r) => r.runId === runId);
    return running ? new Promise((resolve) => this.notify.once(String(runId), () => resolve())) : Promise.resolve();
  }

  async idle(): Promise<void> {
    while (this.active.size > 0 || this.finishing.size > 0) {
      await Promise.race([...this.finishing, new Promise((resolve) => this.notify.once('ended', resolve))]);
    }
  }

  private async finish(run: ActiveRun): Promise<void> {
    await run.applying;
    const ok = run.done && run.error === null;
    const error = ok ? null : (run.error ?? 'the worker ended without reporting a result');
    try {
      await this.deps.runs.finish(run.runId, { ok, counts: run.counts, error });
    } catch (e) {
      this.deps.log.error({ job: run.job, runId: run.runId, err: e }, 'storing a job run failed');
    }
    this.active.delete(run.job);
    const took = Date.now() - run.startedAt;
    if (ok) this.deps.log.info({ job: run.job, runId: run.runId, counts: run.counts, ms: took }, 'job succeeded');
    else {
      this.deps.log.error({ job: run.job, runId: run.runId, error, ms: took }, 'job failed');
      // A run cut short by the gateway's own shutdown is no news for the on-call.
      if (!this.stopping) this.deps.events.publish('job:failed', { job: run.job, runId: run.runId, error: error ?? 'failed', at: Date.now() });
    }
    this.notify.emit(String(run.runId));
    this.notify.emit('ended');
    this.deps.onEnded(run.job, run.runId);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
