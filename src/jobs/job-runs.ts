import type { PrismaClient } from '../db/client.ts';
import type { JobRun } from '../generated/prisma/client.ts';
import type { JobCounts, JobTrigger } from './messages.ts';

const MAX_ERROR_CHARS = 2000;

/** JobRun rows: written by the main thread only, which sees every way a worker can end. */
export function jobRunStore(prisma: PrismaClient) {
  return {
    /**
     * The RUNNING row; for a scheduled run also the claim on its tick: null
     * when another instance sharing the database already claimed it (the
     * (job, scheduledFor) pair is unique), and then this one does not run.
     */
    async create(job: string, trigger: JobTrigger, tick: number | null = null): Promise<JobRun | null> {
      try {
        return await prisma.jobRun.create({ data: { job, trigger, status: 'RUNNING', startedAt: new Date(), scheduledFor: tick === null ? null : new Date(tick) } });
      } catch (error) {
        if (tick !== null && (error as { code?: unknown }).code === 'P2002') return null;
        throw error;
      }
    },
    async progress(id: number, counts: JobCounts): Promise<void> {
      await prisma.jobRun.updateMany({ where: { id, status: 'RUNNING' }, data: { counts: JSON.stringify(counts) } });
    },
    async finish(id: number, outcome: { ok: boolean; counts: JobCounts | null; error: string | null }): Promise<void> {
      await prisma.jobRun.update({
        where: { id },
        data: {
          status: outcome.ok ? 'SUCCEEDED' : 'FAILED',
          finishedAt: new Date(),
          ...(outcome.counts ? { counts: JSON.stringify(outcome.counts) } : {}),
          error: outcome.error === null ? null : outcome.error.slice(0, MAX_ERROR_CHARS),
        },
      });
    },
    /**
     * Rows left RUNNING by a process that died. A run cannot be older than the
     * job timeout (its worker is killed then), so older RUNNING rows are
     * orphans, on this instance or another one sharing the database.
     */
    failOrphans(startedBefore: Date): Promise<{ count: number }> {
      return prisma.jobRun.updateMany({
        where: { status: 'RUNNING', startedAt: { lt: startedBefore } },
        data: { status: 'FAILED', finishedAt: new Date(), error: 'interrupted: the gateway stopped during the run' },
      });
    },
  };
}

export type JobRunStore = ReturnType<typeof jobRunStore>;
