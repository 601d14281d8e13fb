import { useEffect, useState } from 'preact/hooks';
import { graphql } from '../gql/gql.ts';
import type { DashboardKeysQuery, KeyStatus } from '../gql/graphql.ts';
import { request } from '../api/client.ts';
import { connectionEpoch, subscribe } from '../api/live.ts';
import { useQuery } from '../components/use-query.ts';
import { Card, Empty, ErrorBox, Field, StatusBadge, errorText } from '../components/ui.tsx';
import { route, setParam } from '../router.ts';
import { Countdown } from '../components/countdown.tsx';
import { KeyImport } from './key-import.tsx';

const KeyUpstreams = graphql(`
  query DashboardKeyUpstreams {
    upstreams {
      id
      name
    }
  }
`);
const KeysQuery = graphql(`
  query DashboardKeys($upstreamId: ID!, $status: KeyStatus, $search: String, $first: Int!) {
    keys(upstreamId: $upstreamId, status: $status, search: $search, first: $first) {
      edges {
        node {
          id
          name
          fingerprint
          status
          statusReason
          disabledUntil
          quota
          used
          lastError
          requestCount
          failureCount
        }
      }
    }
  }
`);
const SetKeyStatus = graphql(`
  mutation DashboardSetKeyStatus($id: ID!, $status: KeyStatus!) {
    setKeyStatus(id: $id, status: $status, reason: "dashboard") {
      id
      status
      disabledUntil
      statusReason
    }
  }
`);
const ExportKeys = graphql(`
  mutation DashboardExportKeys($upstreamId: ID!) {
    exportKeys(upstreamId: $upstreamId) {
      upstreamName
      keys {
        id
        name
        fingerprint
        status
        weight
        quota
      }
    }
  }
`);
const KeyChanges = graphql(`
  subscription DashboardKeyChanges($upstreamId: ID) {
    keyStateChanged(upstreamId: $upstreamId) {
      keyId
      to
      disabledUntil
      reason
      model
    }
  }
`);

type Key = DashboardKeysQuery['keys']['edges'][number]['node'];
/** Keys shown at once (a filter or search narrows bigger pools). */
const PAGE_SIZE = 500;
const STATUSES: KeyStatus[] = ['ACTIVE', 'DISABLED', 'EXHAUSTED', 'BANNED'];

function download(name: string, body: string) {
  const url = URL.createObjectURL(new Blob([body], { type: 'application/json' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function Keys() {
  const upstreams = useQuery(KeyUpstreams, {});
  const params = route.value.searchParams;
  const list = upstreams.data?.upstreams ?? [];
  // With a single upstream its keys show at once.
  const upstreamId = params.get('upstream') ?? (list.length === 1 ? list[0].id : null);
  const status = (params.get('status') as KeyStatus | null) ?? undefined;
  const search = params.get('q') ?? undefined;
  const [keys, setKeys] = useState<Key[]>([]);
  const [error, setError] = useState<string>();
  const epoch = connectionEpoch.value;

  const load = async () => {
    if (!upstreamId) return;
    try {
      const data = await request(KeysQuery, { upstreamId, status, search: search || undefined, first: PAGE_SIZE });
      setKeys(data.keys.edges.map((e) => e.node));
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => void load(), [upstreamId, status, search, epoch]);

  useEffect(() => {
    if (!upstreamId) return;
    return subscribe(KeyChanges, { upstreamId }, ({ keyStateChanged: c }) => {
      if (c.model) return; // a per-model cooldown leaves the key's own status alone
      setKeys((list) => list.map((k) => (k.id === c.keyId ? { ...k, status: c.to, disabledUntil: c.disabledUntil ?? null, statusReason: c.reason ?? null } : k)));
    });
  }, [upstreamId]);

  async function setStatus(key: Key, next: KeyStatus) {
    try {
      const { setKeyStatus } = await request(SetKeyStatus, { id: key.id, status: next });
      setKeys((list) => list.map((k) => (k.id === key.id ? { ...k, ...setKeyStatus } : k)));
    } catch (e) {
      setError(errorText(e));
    }
  }

  async function exportKeys() {
    if (!upstreamId) return;
    try {
      const { exportKeys: data } = await request(ExportKeys, { upstreamId });
      download(`${data.upstreamName}-keys.json`, JSON.stringify(data.keys, null, 2));
    } catch (e) {
      setError(errorText(e));
    }
  }

  return (
    <>
      <KeysToolbar upstreams={list} upstreamId={upstreamId} status={status} search={search} />
      <ErrorBox error={upstreams.error ?? error} />
      {upstreams.data && list.length === 0 && <Empty>Create an upstream first.</Empty>}
      {upstreamId && (
        <>
          <Card
            title={`Keys (${keys.length})`}
            actions={
              <button type="button" class="secondary" onClick={exportKeys}>
                Export
              </button>
            }
          >
            {keys.length === 0 ? <Empty>No keys{status ? ` with status ${status}` : ''}.</Empty> : <KeyTable keys={keys} onStatus={setStatus} />}
          </Card>
          <Card title="Bulk import">
            <KeyImport upstreamId={upstreamId} onImported={load} />
          </Card>
        </>
      )}
    </>
  );
}

function KeyTable({ keys, onStatus }: { keys: Key[]; onStatus: (k: Key, s: KeyStatus) => void }) {
  return (
    <div class="table-wrap">
      <table class="keys">
        <thead>
          <tr>
            <th>Name</th>
            <th>Fingerprint</th>
            <th>Status</th>
            <th>Quota</th>
            <th>Requests</th>
            <th>Last error</th>
            <th>
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id} data-key-id={k.id}>
              <td data-label="Name">{k.name}</td>
              <td data-label="Fingerprint">
                <code>{k.fingerprint}</code>
              </td>
              <td data-label="Status">
                <StatusBadge status={k.status} />
                {k.disabledUntil && k.status === 'DISABLED' && <Countdown until={k.disabledUntil} />}
              </td>
              <td data-label="Quota">
                {k.quota ? (
                  <meter min={0} max={k.quota} value={k.used} title={`${k.used} of ${k.quota}`}>
                    {k.used}/{k.quota}
                  </meter>
                ) : (
                  <span class="muted">unlimited</span>
                )}{' '}
                {k.quota ? (
                  <small>
                    {k.used}/{k.quota}
                  </small>
                ) : null}
              </td>
              <td data-label="Requests">
                {k.requestCount} <small class="muted">({k.failureCount} failed)</small>
              </td>
              <td data-label="Last error" class={k.lastError ? 'last-error' : 'muted'}>
                {k.lastError ?? '—'}
              </td>
              <td class="actions">
                <button type="button" class="small" disabled={k.status === 'ACTIVE'} onClick={() => onStatus(k, 'ACTIVE')} aria-label={`Enable ${k.name}`}>
                  Enable
                </button>
                <button type="button" class="small secondary" disabled={k.status === 'DISABLED'} onClick={() => onStatus(k, 'DISABLED')} aria-label={`Disable ${k.name}`}>
                  Disable
                </button>
                <button type="button" class="small danger" disabled={k.status === 'BANNED'} onClick={() => onStatus(k, 'BANNED')} aria-label={`Ban ${k.name}`}>
                  Ban
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface ToolbarProps {
  upstreams: Array<{ id: string; name: string }>;
  upstreamId: string | null;
  status: KeyStatus | undefined;
  search: string | undefined;
}

/** The upstream and the filters live in the URL, so a reload or a shared link shows the same keys. */
function KeysToolbar({ upstreams: list, upstreamId, status, search }: ToolbarProps) {
  return (
    <div class="toolbar">
      <Field label="Upstream">
        {(id) => (
          <select id={id} value={upstreamId ?? ''} onChange={(e) => setParam('upstream', e.currentTarget.value)}>
            {!upstreamId && <option value="">Choose an upstream</option>}
            {list.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Status">
        {(id) => (
          <select id={id} value={status ?? ''} onChange={(e) => setParam('status', e.currentTarget.value)}>
            <option value="">Any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Search">
        {(id) => <input id={id} type="search" value={search ?? ''} placeholder="name or …a1b2" onChange={(e) => setParam('q', e.currentTarget.value)} />}
      </Field>
    </div>
  );
}
