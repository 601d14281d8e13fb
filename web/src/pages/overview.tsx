import { useEffect, useMemo, useState } from 'preact/hooks';
import { graphql } from '../gql/gql.ts';
import type { DashboardOverviewQuery } from '../gql/graphql.ts';
import { request } from '../api/client.ts';
import { connectionEpoch, subscribe } from '../api/live.ts';
import { Chart } from '../components/chart.tsx';
import { Card, Empty, ErrorBox, StatusBadge, errorText, time } from '../components/ui.tsx';
import { RollingSeries } from '../live/rolling-series.ts';
import { onLinkClick } from '../router.ts';

const OverviewQuery = graphql(`
  query DashboardOverview($from: DateTime!) {
    stats(from: $from, bucketSeconds: 10) {
      buckets {
        start
        requests
        errors
      }
      latency {
        p50
        p95
      }
      successRate
      totals {
        requests
        errors
      }
    }
    upstreams {
      id
      name
      enabled
      keyCounts {
        active
        disabled
        banned
        exhausted
        total
      }
    }
    keyEvents(first: 12) {
      edges {
        node {
          id
          createdAt
          keyName
          from
          to
          actor
          reason
          upstream {
            name
          }
        }
      }
    }
  }
`);

const OverviewRequests = graphql(`
  subscription DashboardOverviewRequests {
    requestLogged {
      id
      createdAt
      latencyMs
      status
      error
    }
  }
`);
const OverviewKeyChanges = graphql(`
  subscription DashboardOverviewKeyChanges {
    keyStateChanged {
      keyId
      keyName
      from
      to
      at
      actor
      reason
      upstreamId
      model
    }
  }
`);

const WINDOW_MINUTES = 15;
type Upstream = DashboardOverviewQuery['upstreams'][number];
interface Change {
  id: string;
  at: string;
  keyName: string;
  from: string;
  to: string;
  actor: string;
  reason?: string | null;
  upstream?: string;
}

const STATES = ['active', 'disabled', 'exhausted', 'banned'] as const;

/** Moves one key between the per-state counts of its upstream card. */
function shift(upstreams: Upstream[], upstreamId: string, from: string, to: string): Upstream[] {
  return upstreams.map((u) => {
    if (u.id !== upstreamId) return u;
    const counts = { ...u.keyCounts } as Record<string, number>;
    counts[from.toLowerCase()] = Math.max(0, (counts[from.toLowerCase()] ?? 0) - 1);
    counts[to.toLowerCase()] = (counts[to.toLowerCase()] ?? 0) + 1;
    return { ...u, keyCounts: counts as Upstream['keyCounts'] };
  });
}

export function Overview() {
  const series = useMemo(() => new RollingSeries(10_000, (WINDOW_MINUTES * 60) / 10), []);
  const [upstreams, setUpstreams] = useState<Upstream[]>([]);
  const [changes, setChanges] = useState<Change[]>([]);
  const [summary, setSummary] = useState<DashboardOverviewQuery['stats']>();
  const [error, setError] = useState<string>();
  const [revision, setRevision] = useState(0);
  const epoch = connectionEpoch.value;

  const [refresh, setRefresh] = useState(0);
  // The totals and percentiles come from `stats`: refreshed every 15 s, not per event.
  useEffect(() => {
    const timer = setInterval(() => setRefresh((n) => n + 1), 15_000);
    return () => clearInterval(timer);
  }, []);

  // Refetched after each (re)connection too: what happened while the socket was down is in the database.
  useEffect(() => {
    request(OverviewQuery, { from: new Date(Date.now() - WINDOW_MINUTES * 60_000).toISOString() })
      .then((data) => {
        series.seed(data.stats.buckets);
        setRevision((r) => r + 1);
        setSummary(data.stats);
        setUpstreams(data.upstreams);
        setChanges(
          data.keyEvents.edges.map(({ node }) => ({
            id: node.id,
            at: node.createdAt,
            keyName: node.keyName,
            from: node.from,
            to: node.to,
            actor: node.actor,
            reason: node.reason,
            upstream: node.upstream?.name,
          })),
        );
      })
      .catch((e) => setError(errorText(e)));
  }, [epoch, refresh, series]);

  useEffect(() => subscribe(OverviewRequests, {}, ({ requestLogged: r }) => series.add(Date.parse(r.createdAt), r.latencyMs, r.status >= 400 || !!r.error)), [series]);

  useEffect(
    () =>
      subscribe(OverviewKeyChanges, {}, ({ keyStateChanged: c }) => {
        setChanges((list) => [{ id: `${c.keyId}-${c.at}`, at: c.at, keyName: c.keyName, from: c.from, to: c.to, actor: c.actor, reason: c.reason }, ...list].slice(0, 12));
        if (!c.model && c.from !== c.to) setUpstreams((list) => shift(list, c.upstreamId, c.from, c.to));
      }),
    [],
  );

  return (
    <>
      <ErrorBox error={error} />
      <Kpis stats={summary} series={series} />
      <Charts series={series} revision={revision} />
      <UpstreamCards upstreams={upstreams} />
      <KeyChanges changes={changes} />
    </>
  );
}

function Kpis({ stats: summary, series }: { stats: DashboardOverviewQuery['stats'] | undefined; series: RollingSeries }) {
  // Counts follow the live series each second; the percentiles come from `stats` (refreshed every 15 s).
  const [totals, setTotals] = useState(() => series.totals());
  useEffect(() => {
    const timer = setInterval(() => setTotals(series.totals()), 1000);
    return () => clearInterval(timer);
  }, [series]);
  const successRate = totals.requests ? (totals.requests - totals.errors) / totals.requests : null;
  return (
    <div class="kpis">
      <div class="kpi">
        <span>Requests ({WINDOW_MINUTES} min)</span>
        <strong>{summary ? totals.requests : '—'}</strong>
      </div>
      <div class="kpi">
        <span>Success rate</span>
        <strong>{!summary || successRate == null ? '—' : `${(successRate * 100).toFixed(1)}%`}</strong>
      </div>
      <div class="kpi">
        <span>Latency p50</span>
        <strong>{summary?.latency.p50 == null ? '—' : `${summary.latency.p50} ms`}</strong>
      </div>
      <div class="kpi">
        <span>Latency p95</span>
        <strong>{summary?.latency.p95 == null ? '—' : `${summary.latency.p95} ms`}</strong>
      </div>
    </div>
  );
}

function UpstreamCards({ upstreams }: { upstreams: Upstream[] }) {
  return (
    <>
      <h2 class="section-title">Upstreams</h2>
      {upstreams.length === 0 ? (
        <Empty>
          No upstreams yet.{' '}
          <a href="/upstreams" onClick={onLinkClick}>
            Create one
          </a>
          .
        </Empty>
      ) : (
        <div class="cards">
          {upstreams.map((u) => (
            <Card
              key={u.id}
              title={
                <a href={`/keys?upstream=${u.id}`} onClick={onLinkClick}>
                  {u.name}
                </a>
              }
              actions={u.enabled ? null : <StatusBadge status="DISABLED" />}
            >
              <ul class="state-counts">
                {STATES.map((s) => (
                  <li key={s} class={`count-${s}`}>
                    <strong>{u.keyCounts[s]}</strong> {s}
                  </li>
                ))}
              </ul>
              <small>{u.keyCounts.total} keys</small>
            </Card>
          ))}
        </div>
      )}
    </>
  );
}

function KeyChanges({ changes }: { changes: Change[] }) {
  return (
    <Card title="Latest key state changes">
      {changes.length === 0 ? (
        <Empty>No key has changed state yet.</Empty>
      ) : (
        <ul class="changes">
          {changes.map((c) => (
            <li key={c.id}>
              <time>{time(c.at)}</time> <strong>{c.keyName}</strong> <StatusBadge status={c.from} /> → <StatusBadge status={c.to} />{' '}
              <small>
                by {c.actor.toLowerCase()}
                {c.reason ? `: ${c.reason}` : ''}
              </small>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

/** The three live charts; each redraws once a second from the same series. */
function Charts({ series, revision }: { series: RollingSeries; revision: number }) {
  const columns = () => series.columns();
  return (
    <div class="charts">
      <Chart
        title="Requests per second"
        unit=""
        revision={revision}
        series={[{ label: 'req/s', stroke: '#3b82f6' }]}
        data={() => {
          const c = columns();
          return [c[0], c[1]];
        }}
      />
      <Chart
        title="Success rate"
        unit="%"
        revision={revision}
        series={[{ label: 'success %', stroke: '#16a34a', points: true }]}
        data={() => {
          const c = columns();
          return [c[0], c[2]];
        }}
      />
      <Chart
        title="Latency"
        unit="ms"
        revision={revision}
        series={[
          { label: 'p50', stroke: '#8b5cf6', points: true },
          { label: 'p95', stroke: '#f59e0b', points: true },
        ]}
        data={() => {
          const c = columns();
          return [c[0], c[3], c[4]];
        }}
      />
    </div>
  );
}
