import { useState } from 'preact/hooks';
import { graphql } from '../gql/gql.ts';
import type { DashboardUpstreamsQuery } from '../gql/graphql.ts';
import { request } from '../api/client.ts';
import { useQuery } from '../components/use-query.ts';
import { Card, Empty, ErrorBox, StatusBadge, errorText } from '../components/ui.tsx';
import { onLinkClick } from '../router.ts';
import { EMPTY_UPSTREAM, UpstreamForm, toInput, type UpstreamValues } from './upstream-form.tsx';

const UpstreamsQuery = graphql(`
  query DashboardUpstreams {
    upstreams {
      id
      name
      baseUrl
      enabled
      allowAnonymous
      strategy
      maxRetries
      timeoutMs
      bodyLogging
      modelPath
      auth {
        type
        name
      }
      keyCounts {
        active
        total
      }
    }
  }
`);
const CreateUpstream = graphql(`
  mutation DashboardCreateUpstream($input: CreateUpstreamInput!) {
    createUpstream(input: $input) {
      id
    }
  }
`);
const UpdateUpstream = graphql(`
  mutation DashboardUpdateUpstream($id: ID!, $input: UpdateUpstreamInput!) {
    updateUpstream(id: $id, input: $input) {
      id
    }
  }
`);
const DeleteUpstream = graphql(`
  mutation DashboardDeleteUpstream($id: ID!) {
    deleteUpstream(id: $id)
  }
`);

type Upstream = DashboardUpstreamsQuery['upstreams'][number];

function valuesOf(u: Upstream): UpstreamValues {
  return {
    name: u.name,
    baseUrl: u.baseUrl,
    authType: u.auth.type,
    authName: u.auth.name ?? '',
    strategy: u.strategy,
    maxRetries: String(u.maxRetries),
    timeoutMs: String(u.timeoutMs),
    bodyLogging: u.bodyLogging,
    modelPath: u.modelPath ?? '',
    enabled: u.enabled,
    allowAnonymous: u.allowAnonymous,
  };
}

export function Upstreams() {
  const list = useQuery(UpstreamsQuery, {});
  const [editing, setEditing] = useState<string | null>(null);
  const [formKey, setFormKey] = useState(0);
  const [error, setError] = useState<string>();

  async function remove(id: string) {
    try {
      await request(DeleteUpstream, { id });
      await list.reload();
    } catch (e) {
      setError(errorText(e));
    }
  }

  return (
    <>
      <Card title="New upstream">
        <UpstreamForm
          key={formKey}
          initial={EMPTY_UPSTREAM}
          submitLabel="Create upstream"
          onSubmit={async (v) => {
            await request(CreateUpstream, { input: toInput(v) });
            setFormKey((k) => k + 1);
            await list.reload();
          }}
        />
      </Card>
      <ErrorBox error={list.error ?? error} />
      <Card title="Upstreams">
        {list.data?.upstreams.length === 0 && <Empty>No upstreams yet.</Empty>}
        <ul class="rows">
          {list.data?.upstreams.map((u) => (
            <li key={u.id} class="row-item">
              {editing === u.id ? (
                <UpstreamForm
                  initial={valuesOf(u)}
                  submitLabel="Save"
                  onCancel={() => setEditing(null)}
                  onSubmit={async (v) => {
                    await request(UpdateUpstream, { id: u.id, input: toInput(v) });
                    setEditing(null);
                    await list.reload();
                  }}
                />
              ) : (
                <UpstreamSummary upstream={u} onEdit={() => setEditing(u.id)} onDelete={() => remove(u.id)} />
              )}
            </li>
          ))}
        </ul>
      </Card>
    </>
  );
}

/** One upstream in a line; deleting takes a second click that names what goes with it. */
function UpstreamSummary({ upstream: u, onEdit, onDelete }: { upstream: Upstream; onEdit: () => void; onDelete: () => void }) {
  const [confirming, setConfirming] = useState(false);
  return (
    <div class="row-line">
      <div class="row-main">
        <div class="row-title">
          <strong>{u.name}</strong> {!u.enabled && <StatusBadge status="DISABLED" />}
        </div>
        <code class="muted">{u.baseUrl}</code>
        <small>
          {u.strategy.toLowerCase().replace('_', ' ')} · {u.maxRetries} retries · timeout {u.timeoutMs} ms ·{' '}
          <a href={`/keys?upstream=${u.id}`} onClick={onLinkClick}>
            {u.keyCounts.active}/{u.keyCounts.total} keys active
          </a>
        </small>
      </div>
      <div class="actions">
        <button type="button" class="secondary" onClick={onEdit} aria-label={`Edit ${u.name}`}>
          Edit
        </button>
        {confirming ? (
          <>
            <button type="button" class="danger" onClick={onDelete}>
              Delete {u.name} and its keys
            </button>
            <button type="button" class="secondary" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        ) : (
          <button type="button" class="secondary" onClick={() => setConfirming(true)} aria-label={`Delete ${u.name}`}>
            Delete
          </button>
        )}
      </div>
    </div>
  );
}
