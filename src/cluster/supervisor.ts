// KEYRELAY_INSTANCES=N: this process (the node:cluster primary) runs N
// cluster-mode instances of the gateway on one port, restarts one that dies
// and passes SIGTERM/SIGINT on for a clean drain. It serves nothing itself.
//
// The first instance starts alone: it applies the migrations, creates the
// cluster id and (on a first start without KEYRELAY_ADMIN_TOKEN) generates
// and prints the admin token; the others start once it serves and find all
// of that done, so nothing happens N times.

import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from '../logger.ts';

/** What a worker sends its primary once it serves. */
export const WORKER_SERVING = 'keyrelay:serving';

/** A replacement that dies within this long after its start counts as a crash loop: the next one waits longer. */
const QUICK_EXIT_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

/** One process per core at most: more would only share cores. */
export function instancesToStart(asked: number, cores: number): number {
  return Math.max(1, Math.min(asked, cores));
}

/** The wait before restarting an instance after `quickExits` crashes in a row shortly after starting. */
export function restartDelay(quickExits: number): number {
  return quickExits === 0 ? 0 : Math.min(1000 * 2 ** (quickExits - 1), MAX_BACKOFF_MS);
}

export interface SupervisorOptions {
  asked: number;
  log: Logger;
  /** The workers' own shutdown bound; the primary waits a little longer, then kills. */
  shutdownTimeoutMs: number;
}

/** Runs until SIGTERM/SIGINT, then exits the process. */
// size: longer because the slots, the restart backoff and the shutdown share one small state
export async function superviseWorkers(opts: SupervisorOptions): Promise<void> {
  const { log } = opts;
  const cores = availableParallelism();
  const count = instancesToStart(opts.asked, cores);
  if (count < opts.asked) log.warn({ asked: opts.asked, cores, instances: count }, 'KEYRELAY_INSTANCES is above the number of cores: starting one instance per core');
  log.info({ instances: count, pid: process.pid }, 'starting instances on one port (node:cluster)');

  let stopping = false;
  let anyServed = false;
  const workers = new Set<Worker>();
  const pendingRestarts = new Set<NodeJS.Timeout>();

  // Workers listen through the primary's socket (PORT=0 too: the primary picks one port for all).
  const fork = (slot: number, quickExits: number): Promise<boolean> => {
    const worker = cluster.fork();
    const startedAt = Date.now();
    workers.add(worker);
    return new Promise((resolve) => {
      let serving = false;
      worker.on('message', (message: unknown) => {
        if ((message as { type?: string } | null)?.type !== WORKER_SERVING || serving) return;
        serving = true;
        anyServed = true;
        resolve(true);
      });
      worker.once('exit', (code, signal) => {
        workers.delete(worker);
        if (!serving) resolve(false);
        // Before any instance served, an exit is a start that cannot work (its reason is on stderr): no restarts.
        if (stopping || !anyServed) return;
        const quick = Date.now() - startedAt < QUICK_EXIT_MS;
        const nextQuick = quick ? quickExits + 1 : 0;
        const delayMs = restartDelay(nextQuick);
        log.warn({ slot, pid: worker.process.pid, code, signal, restartInMs: delayMs }, 'an instance exited; starting a new one');
        const timer = setTimeout(() => {
          pendingRestarts.delete(timer);
          if (!stopping) void fork(slot, nextQuick);
        }, delayMs);
        pendingRestarts.add(timer);
      });
    });
  };

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    for (const timer of pendingRestarts) clearTimeout(timer);
    log.info({ signal, instances: workers.size }, 'stopping every instance');
    for (const worker of workers) worker.process.kill('SIGTERM');
    const force = setTimeout(() => {
      log.error({ left: workers.size }, 'instances did not stop in time; killing them');
      for (const worker of workers) worker.process.kill('SIGKILL');
      process.exit(1);
    }, opts.shutdownTimeoutMs + 2000);
    force.unref();
    const check = () => {
      if (workers.size > 0) return;
      log.info('stopped');
      process.exit(0);
    };
    cluster.on('exit', check);
    check();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  // The first one alone (migrations, cluster id, admin token); if it cannot start, neither could the others.
  if (!(await fork(1, 0))) {
    if (stopping) return;
    log.fatal('the first instance did not start (its reason is above); not starting the others');
    process.exit(1);
  }
  await Promise.all(Array.from({ length: count - 1 }, (_, i) => fork(i + 2, 0)));
}
