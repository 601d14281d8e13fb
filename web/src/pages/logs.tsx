import { Component } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { graphql } from '../gql/gql.ts';
import type { DashboardLogsQuery, RequestLogFilter } from '../gql/graphql.ts';
import { request } from '../api/client.ts';
import { connectionEpoch, subscribe } from '../api/live.ts';
import { useQuery } from '../components/use-query.ts';
import { Card, Empty, ErrorBox, Field, errorText, time } from '../components/ui.tsx';
import { LiveTail } from '../live/tail.ts';
import { route, setParam } from '../router.ts';
import { LogDetail } from './log-detail.tsx';

const LogUpstreams = graphql(`
  query DashboardLogUpstreams {
    upstreams {
      id
      name
    }
  }
`);
const LogKeys = graphql(`
  query DashboardLogKeys($upstreamId: ID!, $first: Int!) {
    keys(upstreamId: $upstreamId, first: $first) {
      edges {
        node {
          id
          name
          fingerprint
        }
      }
    }
  }
`);
const LogsQuery = graphql(`
  query DashboardLogs($filter: RequestLogFilter, $first: Int!) {
    requestLogs(first: $first, filter: $filter) {
      edges {
        node {
          ...LogRow
        }
      }
    }
  }
  fragment LogRow on RequestLog {
    id
    requestId
    createdAt
    method
    path
    status
    outcome
    latencyMs
    attempts
    model
    error
    upstream {
      name
    }
    key {
      name
      fingerprint
    }
  }
`);
const LogsLive = graphql(`
  subscription DashboardLogsLive($upstreamId: ID, $keyId: ID, $onlyErrors: Boolean) {
    requestLogged(upstreamId: $upstreamId, keyId: $keyId, onlyErrors: $onlyErrors) {
      ...LogRow
    }
  }
`);

/** Rows loaded when the page opens (or a filter changes); the tail then grows to 500. */
const INITIAL_ROWS = 100;

type Row = DashboardLogsQuery['requestLogs']['edges'][number]['node'];

/** Status classes the filter offers; the subscription has no status argument, so the tail filters them here. */
const STATUS_RANGES: Record<string, [number, number]> = { '2xx': [200, 299], '3xx': [300, 399], '4xx': [400, 499], '5xx': [500, 599] };

export function Logs() {
  const filters = useQuery(LogUpstreams, {});
  const p = route.value.searchParams;
  const upstreamId = p.get('upstream') || undefined;
  // The key filter lists one upstream's keys (the first 500), once an upstream is chosen.
  const keyList = useQuery(LogKeys, { upstreamId: upstreamId ?? '', first: 500 }, !upstreamId);
  const keyId = p.get('key') || undefined;
  const statusClass = p.get('status') || '';
  const errorsOnly = p.get('errors') === '1';
  const selected = p.get('log');
  const tail = useMemo(() => new LiveTail<Row>(500), []);
  const [error, setError] = useState<string>();
  const epoch = connectionEpoch.value;
  const range = STATUS_RANGES[statusClass];

  useEffect(() => {
    const filter: RequestLogFilter = { upstreamId, keyId, errorsOnly: errorsOnly || undefined, statusMin: range?.[0], statusMax: range?.[1] };
    request(LogsQuery, { filter, first: INITIAL_ROWS })
      .then((data) => tail.reset(data.requestLogs.edges.map((e) => e.node)))
      .catch((e) => setError(errorText(e)));
  }, [upstreamId, keyId, statusClass, errorsOnly, epoch]);

  useEffect(
    () =>
      subscribe(LogsLive, { upstreamId, keyId, onlyErrors: errorsOnly || undefined }, ({ requestLogged: row }) => {
        if (range && (row.status < range[0] || row.status > range[1])) return;
        tail.push(row);
      }),
    [upstreamId, keyId, statusClass, errorsOnly],
  );
  useEffect(() => () => tail.dispose(), [tail]);

  const upstreams = filters.data?.upstreams ?? [];
  const keys = upstreamId ? (keyList.data?.keys.edges.map((e) => e.node) ?? []) : [];
  const rows = tail.rows.value;

  return (
    <>
      <LogFilters upstreams={upstreams} keys={keys} tail={tail} />
      <ErrorBox error={filters.error ?? keyList.error ?? error} />
      {selected && <LogDetail requestId={selected} onClose={() => setParam('log', null)} />}
      <Card
        title={
          <>
            Live tail <small class="muted">{rows.length} rows, newest first</small>
          </>
        }
      >
        <LogTable rows={rows} />
      </Card>
    </>
  );
}

/** A row never changes once stored: only new rows render when the tail moves (up to once a frame). */
class LogRow extends Component<{ row: Row }> {
  override shouldComponentUpdate(next: { row: Row }): boolean {
    return next.row !== this.props.row;
  }

  override render() {
    const r = this.props.row;
    return (
      <tr class={r.status >= 400 || r.error ? 'row-error' : undefined}>
        <td data-label="Time">
          <time>{time(r.createdAt)}</time>
        </td>
        <td data-label="Request" class="path-cell">
          <button type="button" class="link" onClick={() => setParam('log', r.requestId)} aria-label={`Details of ${r.method} ${r.path}`}>
            <span class="method">{r.method}</span> <span class="path">{r.path}</span>
          </button>
          {r.model && <small class="muted"> {r.model}</small>}
        </td>
        <td data-label="Status">
          <span class={`status status-${Math.floor(r.status / 100)}xx`}>{r.status || r.outcome}</span>
        </td>
        <td data-label="Latency">
          {r.latencyMs} ms{r.attempts > 1 ? <small class="muted"> · {r.attempts} attempts</small> : null}
        </td>
        <td data-label="Upstream / key">
          {r.upstream?.name ?? '—'} <small class="muted">{r.key ? `${r.key.name} ${r.key.fingerprint}` : ''}</small>
        </td>
      </tr>
    );
  }
}

/** Filters live in the URL (reload and back keep them); the tail reads them from there. */
function LogFilters({
  upstreams,
  keys,
  tail,
}: {
  upstreams: Array<{ id: string; name: string }>;
  keys: Array<{ id: string; name: string; fingerprint: string }>;
  tail: LiveTail<Row>;
}) {
  const p = route.value.searchParams;
  const upstreamId = p.get('upstream') || undefined;
  const keyId = p.get('key') || undefined;
  const statusClass = p.get('status') || '';
  const errorsOnly = p.get('errors') === '1';
  const paused = tail.paused.value;
  return (
    <div class="toolbar">
      <Field label="Upstream">
        {(id) => (
          <select id={id} value={upstreamId ?? ''} onChange={(e) => setParam('upstream', e.currentTarget.value)}>
            <option value="">All</option>
            {upstreams.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Key">
        {(id) => (
          <select id={id} value={keyId ?? ''} disabled={!upstreamId} onChange={(e) => setParam('key', e.currentTarget.value)}>
            <option value="">{upstreamId ? 'All' : 'Any key'}</option>
            {keys.map((k) => (
              <option key={k.id} value={k.id}>
                {k.name} {k.fingerprint}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Status">
        {(id) => (
          <select id={id} value={statusClass} onChange={(e) => setParam('status', e.currentTarget.value)}>
            <option value="">Any</option>
            {Object.keys(STATUS_RANGES).map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        )}
      </Field>
      <label class="check-inline">
        <input type="checkbox" checked={errorsOnly} onChange={(e) => setParam('errors', e.currentTarget.checked ? '1' : null)} /> Errors only
      </label>
      <button type="button" class="secondary" aria-pressed={paused} onClick={() => tail.setPaused(!paused)}>
        {paused ? `Resume${tail.held.value ? ` (${tail.held.value} new)` : ''}` : 'Pause'}
      </button>
    </div>
  );
}

function LogTable({ rows }: { rows: Row[] }) {
  return rows.length === 0 ? (
    <Empty>No requests yet. They appear here as they are proxied.</Empty>
  ) : (
    <div class="table-wrap">
      <table class="logs" aria-live="off">
        <thead>
          <tr>
            <th>Time</th>
            <th>Request</th>
            <th>Status</th>
            <th>Latency</th>
            <th>Upstream / key</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <LogRow key={r.id} row={r} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
