import { useState } from 'preact/hooks';
import { graphql } from '../gql/gql.ts';
import { request } from '../api/client.ts';
import { useQuery } from '../components/use-query.ts';
import { Card, Empty, ErrorBox, dateTime, errorText } from '../components/ui.tsx';

const JobsQuery = graphql(`
  query DashboardJobs {
    jobs {
      name
      description
      schedule
      scheduleSource
      timezone
      nextRunAt
      running
      lastRun {
        id
        status
        trigger
        startedAt
        finishedAt
        counts
        error
      }
    }
  }
`);
const RunJob = graphql(`
  mutation DashboardRunJob($name: String!) {
    runJob(name: $name) {
      id
      status
    }
  }
`);

function counts(value: unknown): string {
  if (!value || typeof value !== 'object') return '';
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');
}

export function Jobs() {
  const { data, error, reload } = useQuery(JobsQuery, {});
  const [runError, setRunError] = useState<Record<string, string>>({});

  async function run(name: string) {
    try {
      await request(RunJob, { name });
      setRunError((e) => ({ ...e, [name]: '' }));
      await reload();
    } catch (e) {
      setRunError((old) => ({ ...old, [name]: errorText(e) }));
    }
  }

  return (
    <>
      <ErrorBox error={error} />
      {data?.jobs.length === 0 && <Empty>No jobs.</Empty>}
      <div class="cards">
        {data?.jobs.map((job) => (
          <Card
            key={job.name}
            title={job.name}
            actions={
              <button type="button" onClick={() => run(job.name)} disabled={job.running} aria-label={`Run ${job.name} now`}>
                Run now
              </button>
            }
          >
            <p class="muted">{job.description}</p>
            <dl class="facts">
              <dt>Schedule</dt>
              <dd>
                <code>{job.schedule}</code>{' '}
                <small class="muted">
                  ({job.timezone}, from {job.scheduleSource})
                </small>
              </dd>
              <dt>Next run</dt>
              <dd>{job.nextRunAt ? dateTime(job.nextRunAt) : 'not scheduled'}</dd>
              <dt>Last run</dt>
              <dd>
                {job.lastRun ? (
                  <>
                    <span class={`badge badge-job-${job.lastRun.status.toLowerCase()}`}>{job.lastRun.status}</span> {dateTime(job.lastRun.startedAt)}{' '}
                    <small class="muted">({job.lastRun.trigger})</small>
                    {counts(job.lastRun.counts) && (
                      <div>
                        <small>{counts(job.lastRun.counts)}</small>
                      </div>
                    )}
                    {job.lastRun.error && <div class="last-error">{job.lastRun.error}</div>}
                  </>
                ) : (
                  'never'
                )}
              </dd>
            </dl>
            {runError[job.name] && <ErrorBox error={runError[job.name]} />}
          </Card>
        ))}
      </div>
    </>
  );
}
