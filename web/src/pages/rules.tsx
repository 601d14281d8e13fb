import { useState } from 'preact/hooks';
import { graphql } from '../gql/gql.ts';
import type { DashboardRulesQuery } from '../gql/graphql.ts';
import { request } from '../api/client.ts';
import { useQuery } from '../components/use-query.ts';
import { Card, Empty, ErrorBox, errorText } from '../components/ui.tsx';
import { describeCondition } from './rule-condition.tsx';
import { NEW_RULE, RuleForm, toRuleInput, valuesOf } from './rule-form.tsx';

const RulesQuery = graphql(`
  query DashboardRules {
    rules {
      id
      name
      enabled
      priority
      upstreamId
      actions
      condition
      threshold
      windowSeconds
      consecutive
      cooldownSeconds
      disableForSeconds
      disableMode
      scope
      upstream {
        name
      }
    }
    rulePresets {
      id
      name
      description
    }
    upstreams {
      id
      name
    }
  }
`);
const CreateRule = graphql(`
  mutation DashboardCreateRule($input: CreateRuleInput!) {
    createRule(input: $input) {
      id
    }
  }
`);
const UpdateRule = graphql(`
  mutation DashboardUpdateRule($id: ID!, $input: UpdateRuleInput!) {
    updateRule(id: $id, input: $input) {
      id
    }
  }
`);
const DeleteRule = graphql(`
  mutation DashboardDeleteRule($id: ID!) {
    deleteRule(id: $id)
  }
`);
const ApplyPreset = graphql(`
  mutation DashboardApplyPreset($presetId: ID!, $upstreamId: ID) {
    applyRulePreset(presetId: $presetId, upstreamId: $upstreamId) {
      id
    }
  }
`);

export function Rules() {
  const { data, error, reload } = useQuery(RulesQuery, {});
  const [editing, setEditing] = useState<string | null>(null);
  const [formKey, setFormKey] = useState(0);
  const [actionError, setActionError] = useState<string>();
  const upstreams = data?.upstreams ?? [];

  const act = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      setActionError(undefined);
      await reload();
    } catch (e) {
      setActionError(errorText(e));
    }
  };

  return (
    <>
      <ErrorBox error={error ?? actionError} />
      <Card title="Rules">
        {data?.rules.length === 0 && <Empty>No rules yet: build one below or start from a preset.</Empty>}
        <ul class="rows">
          {data?.rules.map((r) => (
            <li key={r.id} class="row-item">
              {editing === r.id ? (
                <RuleForm
                  initial={valuesOf(r)}
                  upstreams={upstreams}
                  submitLabel="Save rule"
                  onCancel={() => setEditing(null)}
                  onSubmit={async (v) => {
                    await request(UpdateRule, { id: r.id, input: toRuleInput(v) });
                    setEditing(null);
                    await reload();
                  }}
                />
              ) : (
                <RuleSummary rule={r} act={act} onEdit={() => setEditing(r.id)} />
              )}
            </li>
          ))}
        </ul>
      </Card>
      <Card title="New rule">
        <RuleForm
          key={formKey}
          initial={NEW_RULE}
          upstreams={upstreams}
          submitLabel="Create rule"
          onSubmit={async (v) => {
            await request(CreateRule, { input: toRuleInput(v) });
            setFormKey((k) => k + 1);
            await reload();
          }}
        />
      </Card>
      <Presets presets={data?.rulePresets ?? []} upstreams={upstreams} act={act} />
    </>
  );
}

interface PresetsProps {
  presets: Array<{ id: string; name: string; description: string }>;
  upstreams: Array<{ id: string; name: string }>;
  act: (fn: () => Promise<unknown>) => Promise<void>;
}

/** Ready-made rules: applying one stores an editable copy. */
function Presets({ presets, upstreams, act }: PresetsProps) {
  const [presetUpstream, setPresetUpstream] = useState('');
  return (
    <Card
      title="Presets"
      actions={
        <label class="inline-label">
          Apply to{' '}
          <select value={presetUpstream} onChange={(e) => setPresetUpstream(e.currentTarget.value)}>
            <option value="">every upstream</option>
            {upstreams.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        </label>
      }
    >
      <ul class="rows">
        {presets.map((p) => (
          <li key={p.id} class="row-line">
            <div class="row-main">
              <strong>{p.name}</strong>
              <small class="muted">{p.description}</small>
            </div>
            <button
              type="button"
              class="secondary"
              onClick={() => act(() => request(ApplyPreset, { presetId: p.id, upstreamId: presetUpstream || undefined }))}
              aria-label={`Apply preset ${p.name}`}
            >
              Apply
            </button>
          </li>
        ))}
      </ul>
    </Card>
  );
}

type Rule = DashboardRulesQuery['rules'][number];

/** One stored rule in a line: what it watches, what it does, and its buttons. */
function RuleSummary({ rule: r, act, onEdit }: { rule: Rule; act: PresetsProps['act']; onEdit: () => void }) {
  return (
    <div class="row-line">
      <div class="row-main">
        <div class="row-title">
          <strong>{r.name}</strong> {!r.enabled && <span class="badge badge-disabled">OFF</span>}
        </div>
        <small>
          {r.upstream?.name ?? 'global'} · {r.actions.join(', ').toLowerCase().replace(/_/g, ' ')} · {r.threshold} in {r.consecutive ? 'a row' : `${r.windowSeconds}s`} · cooldown{' '}
          {r.cooldownSeconds}s{r.disableForSeconds ? ` · disable ${r.disableForSeconds}s` : ''}
        </small>
        <code class="muted cond-summary" title={JSON.stringify(r.condition)}>
          {describeCondition(r.condition)}
        </code>
      </div>
      <div class="actions">
        <button
          type="button"
          class="secondary"
          onClick={() => act(() => request(UpdateRule, { id: r.id, input: { enabled: !r.enabled } }))}
          aria-label={`${r.enabled ? 'Turn off' : 'Turn on'} ${r.name}`}
        >
          {r.enabled ? 'Turn off' : 'Turn on'}
        </button>
        <button type="button" class="secondary" onClick={onEdit} aria-label={`Edit ${r.name}`}>
          Edit
        </button>
        <button type="button" class="secondary" onClick={() => act(() => request(DeleteRule, { id: r.id }))} aria-label={`Delete ${r.name}`}>
          Delete
        </button>
      </div>
    </div>
  );
}
