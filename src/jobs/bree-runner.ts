import { Worker, type WorkerOptions } from 'node:worker_threads';
import Bree from 'bree';
import type { Logger } from '../logger.ts';
import type { RunData } from './messages.ts';

export interface WorkerEvents {
  message(job: string, message: unknown): void;
  /** The worker threw or exited non-zero; `terminated` when we ended it (closeWorkerAfterMs, or shutdown). */
  error(job: string, error: unknown, terminated: boolean): void;
  /** The worker is gone, whichever way it ended; Bree reports this once per run. */
  ended(job: string): void;
}

/**
 * Bree runs each job file in a worker thread, kills it after
 * closeWorkerAfterMs, and reports messages, errors and exits. Bree's own
 * timers are not used: the JobService decides when a job runs (croner, one
 * trigger per schedule), so a job can have several schedules (per-upstream
 * quota resets), show its next run, and change schedule without stopping a
 * running worker (Bree's remove() waits for it).
 */
export class BreeRunner {
  private readonly bree: Bree;
  private nextRunData: RunData | null = null;
  /** Jobs whose worker was told to terminate: its exit is a kill, not a crash. */
  private readonly terminated = new Set<string>();

  /** `files` names a job file outside root (the test-only jobs). */
  constructor(opts: { root: string; jobs: string[]; files?: Record<string, string>; timeoutMs: number; log: Logger; events: WorkerEvents }) {
    const { log, events } = opts;
    this.bree = new Bree({
      root: opts.root,
      defaultExtension: 'js',
      jobs: opts.jobs.map((name) => (opts.files?.[name] ? { name, path: opts.files[name] } : { name })),
      timeout: false,
      closeWorkerAfterMs: opts.timeoutMs,
      logger: {
        info: (message: unknown) => log.debug({ bree: String(message) }, 'bree'),
        warn: (message: unknown) => log.warn({ bree: String(message) }, 'bree'),
        error: (message: unknown) => log.error({ bree: String(message) }, 'bree'),
      },
      errorHandler: (error, data) => events.error(data.name, error, this.terminated.has(data.name)),
      workerMessageHandler: (data) => events.message(data.name, data.message),
    });
    // Per-run input goes in through createWorker (called synchronously inside
    // run()) rather than the job config, so it never sits in Bree's job list:
    // key-reenable's input can carry the master key.
    this.bree.createWorker = (filename: string, options: Partial<WorkerOptions>) => {
      const run = this.nextRunData;
      return new Worker(filename, { ...options, workerData: { ...(options.workerData as object), run } });
    };
    this.bree.on('worker deleted', (name: string) => {
      this.terminated.delete(name);
      events.ended(name);
    });
  }

  /** Checks the root folder and that every job file exists. */
  async init(): Promise<void> {
    await (this.bree as unknown as { init(): Promise<void> }).init();
  }

  isRunning(job: string): boolean {
    return this.bree.workers.has(job);
  }

  /** Starts the job's worker now; the caller checked it is not running. */
  async run(job: string, data: RunData): Promise<void> {
    this.nextRunData = data;
    const started = this.bree.run(job);
    this.nextRunData = null;
    await started;
    const worker = this.bree.workers.get(job);
    if (!worker) throw new Error(`the worker for ${job} did not start`);
    // Bree's closeWorkerAfterMs timer calls terminate(); mark it so the exit that follows reads as a kill.
    const terminate = worker.terminate.bind(worker);
    worker.terminate = () => {
      this.terminated.add(job);
      return terminate();
    };
  }

  /**
   * Asks running workers to stop ('cancel': long jobs stop between batches),
   * then terminates those still there after `graceMs`. Bree's stop() is not
   * used: it waits without a limit for a worker that may never answer.
   */
  async stopAll(graceMs: number): Promise<void> {
    if (this.bree.workers.size === 0) return;
    // Bree's 'worker deleted' rather than the workers' 'exit': on 'done' Bree
    // removes every exit listener, ours included.
    const gone = new Promise<void>((resolve) => {
      const check = () => {
        if (this.bree.workers.size > 0) return;
        this.bree.off('worker deleted', check);
        resolve();
      };
      this.bree.on('worker deleted', check);
    });
    for (const w of this.bree.workers.values()) w.postMessage('cancel');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    if ((await Promise.race([gone, late])) === 'late') for (const w of this.bree.workers.values()) void w.terminate();
    clearTimeout(timer);
    await gone;
    for (const name of [...this.bree.closeWorkerAfterMs.keys()]) this.bree.removeSafeTimer('closeWorkerAfterMs', name);
  }
}
