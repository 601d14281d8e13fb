import { builder } from '../builder.ts';
import { parseJson } from '../../db/json-column.ts';
import { ConflictError } from '../../errors.ts';
import type { GraphQLContext } from '../context.ts';

import type { JobView } from '../../jobs/job-service.ts';

/** The job service passed to this server; CONFLICT where it was built without one. */function jobsOf(ctx: GraphQLContext) {
  if (!ctx.jobs) throw new ConflictError('jobs are not available on this gateway');
  return ctx.jobs;
}

const JobStatusEnum = builder.enumType('JobStatus', { values: ['RUNNING', 'SUCCEEDED', 'FAILED'] as const });

export const JobRunType = builder.prismaObject('JobRun', {
  description: 'One run of a scheduled job.',
  fields: (t) => ({
    id: t.exposeID('id'),
    job: t.exposeString('job'),
    status: t.expose('status', { type: JobStatusEnum }),
    trigger: t.exposeString('trigger', { description: 'schedule, manual (runJob) or startup (the catch-up quota reset when the scheduler starts).' }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    scheduledFor: t.expose('scheduledFor', {
      type: 'DateTime',
      nullable: true,
      description: 'For a scheduled run, the schedule time it ran for: each time runs once on the database, on the instance that claimed it first. Null for manual and startup runs.',
    }),
    counts: t.field({
      type: 'JSON',
      description: 'What the run did, as the job reported it (progress while RUNNING).',
      select: { counts: true },
      resolve: (run) => parseJson<Record<string, unknown>>(run.counts, {}),
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why the run failed: the error thrown, the exit code, or the time limit that killed it.' }),
  }),
});

export const JobType = builder.objectRef<JobView>('Job').implement({
  description: 'A maintenance job the gateway runs in a worker thread.',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    schedule: t.exposeString('schedule', { description: 'A cron expression (5 fields, or 6 with seconds) in `timezone`, a period such as 10m, or off.' }),
    scheduleSource: t.exposeString('scheduleSource', { description: 'environment, or setting when set through setJobSchedule.' }),
    timezone: t.exposeString('timezone'),
    nextRunAt: t.field({ type: 'DateTime', nullable: true, description: 'Null when the schedule is off or jobs are disabled on this gateway.', resolve: (j) => j.nextRunAt }),
    running: t.exposeBoolean('running'),
    // One query per job; the job list is short and fixed.
    lastRun: t.prismaField({
      type: 'JobRun',
      nullable: true,
      resolve: (query, job, _args, ctx) => ctx.services.prisma.jobRun.findFirst({ ...query, where: { job: job.name }, orderBy: { id: 'desc' } }),
    }),
  }),
});

builder.queryFields((t) => ({
  jobs: t.field({
    type: [JobType],
    resolve: (_root, _args, ctx) => jobsOf(ctx).list(),
  }),
  jobRuns: t.prismaField({
    type: ['JobRun'],
    description: 'Recent runs, newest first.',
    args: { name: t.arg.string(), first: t.arg.int({ defaultValue: 20 }) },
    resolve: (query, _root, args, ctx) =>
      ctx.services.prisma.jobRun.findMany({
        ...query,
        where: args.name ? { job: args.name } : {},
        orderBy: { id: 'desc' },
        take: Math.min(Math.max(args.first ?? 20, 1), 200),
      }),
  }),
}));

builder.mutationFields((t) => ({
  runJob: t.prismaField({
    type: 'JobRun',
    description: 'Starts the job now; returns its RUNNING run. CONFLICT when it is already running or jobs are disabled.',
    args: { name: t.arg.string({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const run = await jobsOf(ctx).run(args.name, 'manual');
      return ctx.services.prisma.jobRun.findUniqueOrThrow({ ...query, where: { id: run.id } });
    },
  }),
  setJobSchedule: t.field({
    type: JobType,
    description: 'Stores a schedule for the job and applies it at once; null returns to the environment setting.',
    args: { name: t.arg.string({ required: true }), schedule: t.arg.string() },
    resolve: (_root, args, ctx) => jobsOf(ctx).setSchedule(args.name, args.schedule ?? null),
  }),
}));
