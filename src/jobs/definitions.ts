import type { Config } from '../config.ts';
import { JOB_NAMES, TEST_JOB_NAMES, type JobName } from './messages.ts';

export interface JobDefinition {
  name: JobName;
  description: string;
  /** From the environment; a Setting (setJobSchedule) overrides it. */
  defaultSchedule: string;
  /** The variable `defaultSchedule` comes from, named in start-up errors. */
  variable: string;
  /** quota-reset: the schedule is also the quota period, which only a cron expression describes. */
  cronOnly: boolean;
}

export function jobDefinitions(config: Config): JobDefinition[] {
  const jobs: JobDefinition[] = [
    {
      name: 'quota-reset',
      description: 'Resets the quota of keys whose period ended and returns EXHAUSTED keys to ACTIVE. Upstreams may set their own schedule (quotaResetCron, quotaResetTimezone); nextRunAt covers them all.',
      defaultSchedule: config.KEYRELAY_QUOTA_RESET_CRON,
      variable: 'KEYRELAY_QUOTA_RESET_CRON',
      cronOnly: true,
    },
    {
      name: 'key-reenable',
      description: 'Returns DISABLED keys whose time passed (probing first where the upstream has a probe) and removes expired model cooldowns: the safety net behind the in-process timers.',
      defaultSchedule: config.KEYRELAY_KEY_REENABLE_INTERVAL,
      variable: 'KEYRELAY_KEY_REENABLE_INTERVAL',
      cronOnly: false,
    },
    {
      name: 'log-cleanup',
      description: `Deletes request logs, key events and job runs older than the retention (${config.KEYRELAY_RETENTION_DAYS} days) in small batches.`,
      defaultSchedule: config.KEYRELAY_LOG_CLEANUP_CRON,
      variable: 'KEYRELAY_LOG_CLEANUP_CRON',
      cronOnly: false,
    },
  ];
  if (config.KEYRELAY_TEST_JOBS) {
    for (const name of TEST_JOB_NAMES) jobs.push({ name, description: 'Test only: fails on purpose.', defaultSchedule: 'off', variable: 'KEYRELAY_TEST_JOBS', cronOnly: false });
  }
  return jobs;
}

export function isJobName(name: string): name is JobName {
  return (JOB_NAMES as readonly string[]).includes(name) || (TEST_JOB_NAMES as readonly string[]).includes(name);
}
