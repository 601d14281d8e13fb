import { useState } from 'preact/hooks';
import type { AuthType, BodyLogging, KeyStrategy } from '../gql/graphql.ts';
import { fieldError, formError } from '../api/client.ts';
import { ErrorBox, Field } from '../components/ui.tsx';

export interface UpstreamValues {
  name: string;
  baseUrl: string;
  authType: AuthType;
  authName: string;
  strategy: KeyStrategy;
  maxRetries: string;
  timeoutMs: string;
  bodyLogging: BodyLogging;
  modelPath: string;
  enabled: boolean;
  allowAnonymous: boolean;
}

export const EMPTY_UPSTREAM: UpstreamValues = {
  name: '',
  baseUrl: '',
  authType: 'BEARER',
  authName: '',
  strategy: 'ROUND_ROBIN',
  maxRetries: '',
  timeoutMs: '',
  bodyLogging: 'ERRORS',
  modelPath: '',
  enabled: true,
  allowAnonymous: false,
};

const FIELDS = ['name', 'baseUrl', 'auth', 'strategy', 'maxRetries', 'timeoutMs', 'bodyLogging', 'modelPath'];

/** The input the API takes; empty numbers are left to the server's defaults. */
export function toInput(v: UpstreamValues) {
  const int = (s: string) => (s.trim() === '' ? undefined : Number(s));
  return {
    name: v.name.trim(),
    baseUrl: v.baseUrl.trim(),
    auth: { type: v.authType, name: v.authType === 'BEARER' ? undefined : v.authName.trim() || undefined },
    strategy: v.strategy,
    maxRetries: int(v.maxRetries),
    timeoutMs: int(v.timeoutMs),
    bodyLogging: v.bodyLogging,
    modelPath: v.modelPath.trim() || undefined,
    enabled: v.enabled,
    allowAnonymous: v.allowAnonymous,
  };
}

interface Props {
  initial: UpstreamValues;
  submitLabel: string;
  onSubmit: (values: UpstreamValues) => Promise<void>;
  onCancel?: () => void;
}

/** Create and edit share this form; the server validates, and its error lands at the field it names. */
export function UpstreamForm({ initial, submitLabel, onSubmit, onCancel }: Props) {
  const [v, setV] = useState(initial);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof UpstreamValues>(k: K, value: UpstreamValues[K]) => setV((old) => ({ ...old, [k]: value }));
  const err = (f: string) => fieldError(error, f);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await onSubmit(v);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const text = (k: 'name' | 'baseUrl' | 'authName' | 'maxRetries' | 'timeoutMs' | 'modelPath', label: string, field: string, extra: Record<string, string> = {}) => (
    <Field label={label} error={err(field)}>
      {(id, describedBy) => (
        <input id={id} value={v[k]} aria-invalid={err(field) ? true : undefined} aria-describedby={describedBy} onInput={(e) => set(k, e.currentTarget.value)} {...extra} />
      )}
    </Field>
  );
  const select = <K extends 'authType' | 'strategy' | 'bodyLogging'>(k: K, label: string, field: string, options: string[]) => (
    <Field label={label} error={err(field)}>
      {(id, describedBy) => (
        <select id={id} value={v[k]} aria-describedby={describedBy} onChange={(e) => set(k, e.currentTarget.value as UpstreamValues[K])}>
          {options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      )}
    </Field>
  );

  return (
    <form class="form-grid" onSubmit={submit} noValidate>
      {text('name', 'Name', 'name', { required: 'true', placeholder: 'openai' })}
      {text('baseUrl', 'Base URL', 'baseUrl', { placeholder: 'https://api.openai.com', inputMode: 'url' })}
      {select('authType', 'Key sent as', 'auth', ['BEARER', 'HEADER', 'QUERY'])}
      {v.authType !== 'BEARER' && text('authName', v.authType === 'HEADER' ? 'Header name' : 'Query parameter', 'auth.name')}
      {select('strategy', 'Strategy', 'strategy', ['ROUND_ROBIN', 'RANDOM', 'WEIGHTED'])}
      {text('maxRetries', 'Max retries', 'maxRetries', { inputMode: 'numeric', placeholder: 'default' })}
      {text('timeoutMs', 'Timeout (ms)', 'timeoutMs', { inputMode: 'numeric', placeholder: 'default' })}
      {select('bodyLogging', 'Body logging', 'bodyLogging', ['ERRORS', 'ALL', 'OFF'])}
      {text('modelPath', 'Model JSONPath', 'modelPath', { placeholder: '$.model' })}
      <div class="checks">
        <label>
          <input type="checkbox" checked={v.enabled} onChange={(e) => set('enabled', e.currentTarget.checked)} /> Enabled
        </label>
        <label>
          <input type="checkbox" checked={v.allowAnonymous} onChange={(e) => set('allowAnonymous', e.currentTarget.checked)} /> Allow requests without an access token
        </label>
      </div>
      <ErrorBox error={formError(error, FIELDS)} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          {submitLabel}
        </button>
        {onCancel && (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
