import { useState } from 'preact/hooks';
import { graphql } from '../gql/gql.ts';
import { fieldError, formError, request } from '../api/client.ts';
import { useQuery } from '../components/use-query.ts';
import { Card, Empty, ErrorBox, Field, dateTime, errorText } from '../components/ui.tsx';

const TokensQuery = graphql(`
  query DashboardTokens {
    accessTokens {
      id
      name
      prefix
      enabled
      createdAt
      lastUsedAt
      revokedAt
      upstreamIds
    }
    upstreams {
      id
      name
    }
  }
`);
const CreateToken = graphql(`
  mutation DashboardCreateToken($input: CreateAccessTokenInput!) {
    createAccessToken(input: $input) {
      token
      accessToken {
        id
        name
      }
    }
  }
`);
const RevokeToken = graphql(`
  mutation DashboardRevokeToken($id: ID!) {
    revokeAccessToken(id: $id) {
      id
    }
  }
`);

/** The clipboard API exists only in secure contexts (https, localhost); elsewhere the token is selected for Ctrl+C. */
async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const node = document.getElementById('new-token');
    if (node) getSelection()?.selectAllChildren(node);
    return false;
  }
}

export function Tokens() {
  const { data, error, reload } = useQuery(TokensQuery, {});
  const [name, setName] = useState('');
  const [scope, setScope] = useState<string[]>([]);
  const [created, setCreated] = useState<{ name: string; token: string }>();
  const [formErr, setFormErr] = useState<unknown>();
  const [actionError, setActionError] = useState<string>();
  const upstreamNames = new Map(data?.upstreams.map((u) => [u.id, u.name]));

  async function create(event: Event) {
    event.preventDefault();
    setFormErr(undefined);
    try {
      const res = await request(CreateToken, { input: { name: name.trim(), upstreamIds: scope } });
      setCreated({ name: res.createAccessToken.accessToken.name, token: res.createAccessToken.token });
      setName('');
      setScope([]);
      await reload();
    } catch (e) {
      setFormErr(e);
    }
  }

  async function revoke(id: string) {
    try {
      await request(RevokeToken, { id });
      await reload();
    } catch (e) {
      setActionError(errorText(e));
    }
  }

  return (
    <>
      <Card title="New access token">
        <form class="form-grid" onSubmit={create}>
          <Field label="Token name" error={fieldError(formErr, 'name')}>
            {(id, describedBy) => <input id={id} required value={name} aria-describedby={describedBy} onInput={(e) => setName(e.currentTarget.value)} />}
          </Field>
          <fieldset class="checks">
            <legend>Upstreams (none checked: all)</legend>
            {data?.upstreams.map((u) => (
              <label key={u.id}>
                <input type="checkbox" checked={scope.includes(u.id)} onChange={(e) => setScope((s) => (e.currentTarget.checked ? [...s, u.id] : s.filter((x) => x !== u.id)))} />{' '}
                {u.name}
              </label>
            ))}
          </fieldset>
          <ErrorBox error={formError(formErr, ['name'])} />
          <div class="actions">
            <button type="submit">Create token</button>
          </div>
        </form>
        {created && <ShownOnce key={created.token} name={created.name} token={created.token} />}
      </Card>
      <ErrorBox error={error ?? actionError} />
      <Card title="Access tokens">
        {data?.accessTokens.length === 0 && <Empty>No access tokens yet.</Empty>}
        <ul class="rows">
          {data?.accessTokens.map((t) => (
            <li key={t.id} class="row-line">
              <div class="row-main">
                <div class="row-title">
                  <strong>{t.name}</strong> <code>{t.prefix}…</code>{' '}
                  {t.revokedAt ? <span class="badge badge-banned">REVOKED</span> : <span class="badge badge-active">ACTIVE</span>}
                </div>
                <small class="muted">
                  {t.upstreamIds.length ? t.upstreamIds.map((id) => upstreamNames.get(id) ?? id).join(', ') : 'all upstreams'} · created {dateTime(t.createdAt)} · last used{' '}
                  {dateTime(t.lastUsedAt)}
                </small>
              </div>
              {!t.revokedAt && (
                <button type="button" class="secondary" onClick={() => revoke(t.id)} aria-label={`Revoke ${t.name}`}>
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      </Card>
    </>
  );
}

/** The new token, once: it is stored only as a hash. */
function ShownOnce({ name, token }: { name: string; token: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret-once" role="status">
      <p>
        Token <strong>{name}</strong>: copy it now, it is not shown again.
      </p>
      <code class="secret" id="new-token">
        {token}
      </code>
      <button type="button" class="secondary" onClick={() => copy(token).then(setCopied)}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}
