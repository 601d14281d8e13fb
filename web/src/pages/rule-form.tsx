import { useState } from 'preact/hooks';
import { graphql } from '../gql/gql.ts';
import type { DashboardRulesQuery, DisableMode, RuleAction, RuleScope } from '../gql/graphql.ts';
import { fieldError, formError, request } from '../api/client.ts';
import { ErrorBox, Field, errorText } from '../components/ui.tsx';
import { ConditionEditor, fromCondition, leaf, toConditionInput, type CondNode } from './rule-condition.tsx';

const TestAgainstLogs = graphql(`
  query DashboardTestRule($upstreamId: ID!, $condition: RuleConditionInput!, $last: Int!) {
    testRuleAgainstLogs(upstreamId: $upstreamId, condition: $condition, last: $last) {
      evaluated
      bodiesMissing
      matchedLogIds
    }
    requestLogs(first: $last, filter: { upstreamId: $upstreamId }) {
      edges {
        node {
          id
          createdAt
          method
          path
          status
        }
      }
    }
  }
`);

type Rule = DashboardRulesQuery['rules'][number];
const ACTIONS: RuleAction[] = ['DISABLE_KEY', 'BAN_KEY', 'ALERT', 'LOG'];
const NUMBERS = [
  ['threshold', 'Threshold (matches)'],
  ['windowSeconds', 'Window (s)'],
  ['cooldownSeconds', 'Cooldown (s)'],
  ['disableForSeconds', 'Disable for (s)'],
  ['priority', 'Priority'],
] as const;

export interface RuleValues {
  name: string;
  upstreamId: string;
  actions: RuleAction[];
  enabled: boolean;
  consecutive: boolean;
  scope: RuleScope;
  disableMode: DisableMode;
  threshold: string;
  windowSeconds: string;
  cooldownSeconds: string;
  disableForSeconds: string;
  priority: string;
  condition: CondNode;
}

export const NEW_RULE: RuleValues = {
  name: '',
  upstreamId: '',
  actions: ['DISABLE_KEY'],
  enabled: true,
  consecutive: false,
  scope: 'KEY',
  disableMode: 'DURATION',
  threshold: '1',
  windowSeconds: '60',
  cooldownSeconds: '0',
  disableForSeconds: '300',
  priority: '100',
  condition: { kind: 'any', children: [leaf('status', { in: '401, 403' })], fields: {} },
};

export function valuesOf(r: Rule): RuleValues {
  return {
    name: r.name,
    upstreamId: r.upstreamId ?? '',
    actions: r.actions,
    enabled: r.enabled,
    consecutive: r.consecutive,
    scope: r.scope,
    disableMode: r.disableMode,
    threshold: String(r.threshold),
    windowSeconds: String(r.windowSeconds),
    cooldownSeconds: String(r.cooldownSeconds),
    disableForSeconds: r.disableForSeconds == null ? '' : String(r.disableForSeconds),
    priority: String(r.priority),
    condition: fromCondition(r.condition),
  };
}

export function toRuleInput(v: RuleValues) {
  const int = (s: string) => (s.trim() ? Number(s) : undefined);
  return {
    name: v.name.trim(),
    upstreamId: v.upstreamId || null,
    actions: v.actions,
    enabled: v.enabled,
    consecutive: v.consecutive,
    scope: v.scope,
    disableMode: v.disableMode,
    threshold: int(v.threshold),
    windowSeconds: int(v.windowSeconds),
    cooldownSeconds: int(v.cooldownSeconds),
    disableForSeconds: int(v.disableForSeconds),
    priority: int(v.priority),
    condition: toConditionInput(v.condition),
  };
}

interface TestResult {
  text: string;
  rows: Array<{ id: string; createdAt: string; method: string; path: string; status: number }>;
}

interface Props {
  initial: RuleValues;
  upstreams: Array<{ id: string; name: string }>;
  submitLabel: string;
  onSubmit: (v: RuleValues) => Promise<void>;
  onCancel?: () => void;
}

export function RuleForm({ initial, upstreams, submitLabel, onSubmit, onCancel }: Props) {
  const [v, setV] = useState(initial);
  const [error, setError] = useState<unknown>();
  const [test, setTest] = useState<TestResult>();
  const set = <K extends keyof RuleValues>(k: K, value: RuleValues[K]) => setV((o) => ({ ...o, [k]: value }));
  const err = (f: string) => fieldError(error, f);

  async function submit(event: Event) {
    event.preventDefault();
    setError(undefined);
    try {
      await onSubmit(v);
    } catch (e) {
      setError(e);
    }
  }

  async function testLogs() {
    const upstreamId = v.upstreamId || upstreams[0]?.id;
    if (!upstreamId) return setTest({ text: 'Create an upstream first.', rows: [] });
    try {
      const data = await request(TestAgainstLogs, { upstreamId, condition: toConditionInput(v.condition), last: 100 });
      const r = data.testRuleAgainstLogs;
      const matched = new Set(r.matchedLogIds);
      const rows = data.requestLogs.edges.map((e) => e.node).filter((n) => matched.has(n.id));
      setTest({
        text: `${r.matchedLogIds.length} of the last ${r.evaluated} requests would have matched${r.bodiesMissing ? ` (${r.bodiesMissing} without a stored body)` : ''}.`,
        rows,
      });
    } catch (e) {
      setTest({ text: errorText(e), rows: [] });
    }
  }

  return (
    <form class="rule-form" onSubmit={submit} noValidate>
      <RuleSettings v={v} set={set} err={err} upstreams={upstreams} />
      <h3>Condition</h3>
      <ConditionEditor node={v.condition} path="1" onChange={(n) => set('condition', n)} />
      {err('condition') && (
        <p class="field-error" role="alert">
          {err('condition')}
        </p>
      )}
      <ErrorBox error={formError(error, ['name', 'upstreamId', 'condition', ...NUMBERS.map((n) => n[0])])} />
      <div class="actions">
        <button type="submit">{submitLabel}</button>
        <button type="button" class="secondary" onClick={testLogs}>
          Test against recent logs
        </button>
        {onCancel && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      {test && <LogTestResult test={test} />}
    </form>
  );
}

type Setter = <K extends keyof RuleValues>(k: K, value: RuleValues[K]) => void;

/** Name, scope, thresholds and actions: everything but the condition. */
function RuleSettings({ v, set, err, upstreams }: { v: RuleValues; set: Setter; err: (f: string) => string | undefined; upstreams: Props['upstreams'] }) {
  return (
    <>
      <div class="form-grid">
        <Field label="Rule name" error={err('name')}>
          {(id, d) => <input id={id} value={v.name} aria-describedby={d} onInput={(e) => set('name', e.currentTarget.value)} />}
        </Field>
        <Field label="Applies to" error={err('upstreamId')}>
          {(id) => (
            <select id={id} value={v.upstreamId} onChange={(e) => set('upstreamId', e.currentTarget.value)}>
              <option value="">Every upstream (global)</option>
              {upstreams.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        {NUMBERS.map(([k, label]) => (
          <Field key={k} label={label} error={err(k)}>
            {(id, d) => <input id={id} inputMode="numeric" value={v[k]} aria-describedby={d} onInput={(e) => set(k, e.currentTarget.value)} />}
          </Field>
        ))}
        <Field label="Disable mode">
          {(id) => (
            <select id={id} value={v.disableMode} onChange={(e) => set('disableMode', e.currentTarget.value as DisableMode)}>
              <option value="DURATION">For a duration</option>
              <option value="QUOTA_RESET">Until the quota resets</option>
              <option value="MANUAL">Until enabled by hand</option>
            </select>
          )}
        </Field>
        <Field label="Scope">
          {(id) => (
            <select id={id} value={v.scope} onChange={(e) => set('scope', e.currentTarget.value as RuleScope)}>
              <option value="KEY">The key</option>
              <option value="KEY_MODEL">The key, for that model only</option>
            </select>
          )}
        </Field>
      </div>
      <fieldset class="checks">
        <legend>Actions</legend>
        {ACTIONS.map((a) => (
          <label key={a}>
            <input
              type="checkbox"
              checked={v.actions.includes(a)}
              onChange={(e) => set('actions', e.currentTarget.checked ? [...v.actions, a] : v.actions.filter((x) => x !== a))}
            />{' '}
            {a.replace('_', ' ').toLowerCase()}
          </label>
        ))}
        <label>
          <input type="checkbox" checked={v.consecutive} onChange={(e) => set('consecutive', e.currentTarget.checked)} /> Matches in a row
        </label>
        <label>
          <input type="checkbox" checked={v.enabled} onChange={(e) => set('enabled', e.currentTarget.checked)} /> Enabled
        </label>
      </fieldset>
    </>
  );
}

/** Which of the recent requests the condition would have matched. */
function LogTestResult({ test }: { test: TestResult }) {
  return (
    <div class="test-result" role="status">
      <p>{test.text}</p>
      {test.rows.length > 0 && (
        <ul class="matched">
          {test.rows.map((r) => (
            <li key={r.id}>
              <code>
                {r.method} {r.path}
              </code>{' '}
              → {r.status}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
