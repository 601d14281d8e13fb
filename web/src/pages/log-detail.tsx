import { graphql } from '../gql/gql.ts';
import { useQuery } from '../components/use-query.ts';
import { Card, ErrorBox, dateTime } from '../components/ui.tsx';

const LogDetailQuery = graphql(`
  query DashboardLogDetail($requestId: String!) {
    requestLogs(first: 1, filter: { requestId: $requestId }) {
      edges {
        node {
          id
          requestId
          createdAt
          method
          path
          status
          outcome
          latencyMs
          overheadMs
          attempts
          stream
          model
          error
          clientIp
          bytesIn
          bytesOut
          promptTokens
          completionTokens
          totalTokens
          bodyTruncated
          requestBody
          responseBody
          matchedRules
          upstream {
            name
          }
          key {
            name
            fingerprint
          }
          accessToken {
            name
            prefix
          }
        }
      }
    }
    rules {
      id
      name
    }
  }
`);

function pretty(body: string | null | undefined): string {
  if (!body) return '';
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

/** One request: what was stored for it (bodies as captured and redacted) and the rules it matched. */
export function LogDetail({ requestId, onClose }: { requestId: string; onClose: () => void }) {
  const { data, error } = useQuery(LogDetailQuery, { requestId });
  const log = data?.requestLogs.edges[0]?.node;
  const ruleNames = new Map(data?.rules.map((r) => [r.id, r.name]));
  return (
    <Card
      title={`Request ${requestId}`}
      actions={
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      }
    >
      <ErrorBox error={error} />
      {data && !log && <p>Not stored (yet).</p>}
      {log && (
        <div class="detail">
          <dl class="facts">
            <dt>Time</dt>
            <dd>{dateTime(log.createdAt)}</dd>
            <dt>Request</dt>
            <dd>
              <code>
                {log.method} {log.path}
              </code>
              {log.stream ? ' (stream)' : ''}
            </dd>
            <dt>Status</dt>
            <dd>
              {log.status} · {log.outcome}
            </dd>
            <dt>Latency</dt>
            <dd>
              {log.latencyMs} ms (gateway overhead {log.overheadMs.toFixed(1)} ms)
            </dd>
            <dt>Attempts</dt>
            <dd>{log.attempts}</dd>
            <dt>Upstream</dt>
            <dd>{log.upstream?.name ?? '—'}</dd>
            <dt>Key</dt>
            <dd>{log.key ? `${log.key.name} ${log.key.fingerprint}` : '—'}</dd>
            <dt>Access token</dt>
            <dd>{log.accessToken ? `${log.accessToken.name} (${log.accessToken.prefix}…)` : 'anonymous'}</dd>
            <dt>Model</dt>
            <dd>{log.model ?? '—'}</dd>
            <dt>Tokens</dt>
            <dd>{log.totalTokens == null ? '—' : `${log.promptTokens} in, ${log.completionTokens} out`}</dd>
            <dt>Bytes</dt>
            <dd>
              {log.bytesIn} in, {log.bytesOut} out
            </dd>
            <dt>Client</dt>
            <dd>{log.clientIp ?? '—'}</dd>
            <dt>Rules that fired</dt>
            <dd>{log.matchedRules.length ? log.matchedRules.map((id) => ruleNames.get(id) ?? id).join(', ') : 'none'}</dd>
            {log.error && (
              <>
                <dt>Error</dt>
                <dd class="last-error">{log.error}</dd>
              </>
            )}
          </dl>
          <p class="muted">
            <small>Headers are not stored with request logs; bodies are kept as captured (secrets redacted){log.bodyTruncated ? ', truncated' : ''}.</small>
          </p>
          <h3>Request body</h3>
          <pre tabIndex={0}>{pretty(log.requestBody) || 'not captured'}</pre>
          <h3>Response body</h3>
          <pre tabIndex={0}>{pretty(log.responseBody) || 'not captured'}</pre>
        </div>
      )}
    </Card>
  );
}
