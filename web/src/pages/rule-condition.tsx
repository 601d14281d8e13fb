import type { RuleConditionInput } from '../gql/graphql.ts';

export type Kind = 'all' | 'any' | 'not' | 'status' | 'header' | 'body' | 'jsonPath' | 'latencyMs';
export interface CondNode {
  kind: Kind;
  children: CondNode[];
  fields: Record<string, string>;
}

const LEAF_FIELDS: Record<string, Array<[string, string]>> = {
  status: [
    ['equals', 'Status equals'],
    ['in', 'Status in (comma list)'],
    ['min', 'Status from'],
    ['max', 'Status to'],
  ],
  header: [
    ['name', 'Header name'],
    ['equals', 'Equals'],
    ['contains', 'Contains'],
    ['regex', 'Regex (RE2)'],
  ],
  body: [
    ['contains', 'Body contains'],
    ['regex', 'Body regex (RE2)'],
  ],
  jsonPath: [
    ['path', 'JSONPath'],
    ['equals', 'Equals (JSON)'],
    ['regex', 'Regex'],
    ['gt', 'Greater than'],
    ['lt', 'Less than'],
  ],
  latencyMs: [
    ['gt', 'Slower than (ms)'],
    ['lt', 'Faster than (ms)'],
  ],
};
const KIND_LABELS: Record<Kind, string> = {
  all: 'All of',
  any: 'Any of',
  not: 'Not',
  status: 'Status',
  header: 'Header',
  body: 'Body',
  jsonPath: 'JSON path',
  latencyMs: 'Latency',
};
const GROUPS: Kind[] = ['all', 'any', 'not'];

export const leaf = (kind: Kind, fields: Record<string, string> = {}): CondNode => ({ kind, children: [], fields });

const num = (s: string | undefined) => (s?.trim() ? Number(s) : undefined);
const str = (s: string | undefined) => (s?.trim() ? s.trim() : undefined);
function json(s: string | undefined): unknown {
  if (!s?.trim()) return undefined;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** The API's @oneOf input; the server validates it (and names the path at fault). */
export function toConditionInput(n: CondNode): RuleConditionInput {
  const f = n.fields;
  switch (n.kind) {
    case 'all':
      return { all: n.children.map(toConditionInput) };
    case 'any':
      return { any: n.children.map(toConditionInput) };
    case 'not':
      return { not: n.children[0] ? toConditionInput(n.children[0]) : { status: {} } };
    case 'status':
      return {
        status: {
          equals: num(f.equals),
          in: str(f.in)
            ?.split(/[\s,]+/)
            .map(Number),
          min: num(f.min),
          max: num(f.max),
        },
      };
    case 'header':
      return { header: { name: f.name ?? '', equals: str(f.equals), contains: str(f.contains), regex: str(f.regex), exists: f.exists === 'true' ? true : undefined } };
    case 'body':
      return { body: { contains: str(f.contains), regex: str(f.regex), ignoreCase: f.ignoreCase === 'true' ? true : undefined } };
    case 'jsonPath':
      return { jsonPath: { path: f.path ?? '', equals: json(f.equals), regex: str(f.regex), gt: num(f.gt), lt: num(f.lt) } };
    case 'latencyMs':
      return { latencyMs: { gt: num(f.gt), lt: num(f.lt) } };
  }
}

/** A stored rule's condition (JSON) back into the editor's tree. */
export function fromCondition(value: unknown): CondNode {
  const c = (value ?? {}) as Record<string, unknown>;
  const [kind, body] = Object.entries(c)[0] ?? ['status', {}];
  if (kind === 'all' || kind === 'any') return { kind, children: (body as unknown[]).map(fromCondition), fields: {} };
  if (kind === 'not') return { kind, children: [fromCondition(body)], fields: {} };
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries((body ?? {}) as Record<string, unknown>)) fields[k] = Array.isArray(v) ? v.join(', ') : typeof v === 'string' ? v : JSON.stringify(v);
  return { kind: (kind in LEAF_FIELDS ? kind : 'status') as Kind, children: [], fields };
}

/** A stored condition in words: `status in 429, 503 and not (latency < 1 ms)`. */
export function describeCondition(value: unknown): string {
  const c = (value ?? {}) as Record<string, unknown>;
  const [kind, body] = Object.entries(c)[0] ?? ['', {}];
  if (kind === 'all' || kind === 'any') {
    const parts = (body as unknown[]).map((child) => {
      const text = describeCondition(child);
      return /^(all|any)\b/.test(Object.keys(child as object)[0] ?? '') ? `(${text})` : text;
    });
    return parts.join(kind === 'all' ? ' and ' : ' or ') || (kind === 'all' ? 'always' : 'never');
  }
  if (kind === 'not') return `not (${describeCondition(body)})`;
  const f = (body ?? {}) as Record<string, unknown>;
  const tests = Object.entries(f)
    .filter(([k, v]) => v !== undefined && v !== null && k !== 'name' && k !== 'path' && k !== 'ignoreCase')
    .map(
      ([k, v]) =>
        `${({ equals: '=', gt: '>', lt: '<', min: '≥', max: '≤' } as Record<string, string>)[k] ?? k} ${Array.isArray(v) ? v.join(', ') : typeof v === 'string' ? JSON.stringify(v) : String(v)}${kind === 'latencyMs' ? ' ms' : ''}`,
    );
  const subject = kind === 'header' ? `header ${String(f.name)}` : kind === 'jsonPath' ? String(f.path) : kind === 'latencyMs' ? 'latency' : kind;
  return `${subject} ${tests.join(' and ')}${f.ignoreCase ? ' (any case)' : ''}`;
}

interface EditorProps {
  node: CondNode;
  onChange: (n: CondNode) => void;
  onRemove?: () => void;
  path: string;
}

/** One node of the condition tree: groups nest, leaves edit their fields. */
export function ConditionEditor({ node, onChange, onRemove, path }: EditorProps) {
  const isGroup = GROUPS.includes(node.kind);
  const setKind = (kind: Kind) => onChange(GROUPS.includes(kind) ? { kind, children: isGroup ? node.children : [node], fields: {} } : leaf(kind));
  const setChild = (i: number, child: CondNode) => onChange({ ...node, children: node.children.map((c, j) => (j === i ? child : c)) });
  return (
    <fieldset class={`cond ${isGroup ? 'cond-group' : 'cond-leaf'}`}>
      <legend class="sr-only">Condition {path}</legend>
      <div class="cond-head">
        <select aria-label={`Condition type ${path}`} value={node.kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
          {(Object.keys(KIND_LABELS) as Kind[]).map((k) => (
            <option key={k} value={k}>
              {KIND_LABELS[k]}
            </option>
          ))}
        </select>
        {onRemove && (
          <button type="button" class="small secondary" onClick={onRemove} aria-label={`Remove condition ${path}`}>
            Remove
          </button>
        )}
      </div>
      {isGroup ? (
        <div class="cond-children">
          {node.children.map((c, i) => (
            <ConditionEditor
              key={i}
              node={c}
              path={`${path}.${i + 1}`}
              onChange={(n) => setChild(i, n)}
              onRemove={() => onChange({ ...node, children: node.children.filter((_, j) => j !== i) })}
            />
          ))}
          {(node.kind !== 'not' || node.children.length === 0) && (
            <button type="button" class="small secondary" onClick={() => onChange({ ...node, children: [...node.children, leaf('status')] })}>
              Add condition
            </button>
          )}
        </div>
      ) : (
        <div class="cond-fields">
          {LEAF_FIELDS[node.kind].map(([name, label]) => (
            <label key={name}>
              <span>{label}</span>
              <input value={node.fields[name] ?? ''} onInput={(e) => onChange({ ...node, fields: { ...node.fields, [name]: e.currentTarget.value } })} />
            </label>
          ))}
          {node.kind === 'body' && (
            <label class="check-inline">
              <input
                type="checkbox"
                checked={node.fields.ignoreCase === 'true'}
                onChange={(e) => onChange({ ...node, fields: { ...node.fields, ignoreCase: String(e.currentTarget.checked) } })}
              />{' '}
              Ignore case
            </label>
          )}
        </div>
      )}
    </fieldset>
  );
}
