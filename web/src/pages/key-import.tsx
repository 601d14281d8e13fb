import { useState } from 'preact/hooks';
import { graphql } from '../gql/gql.ts';
import type { DashboardImportKeysMutation, KeyImportFormat } from '../gql/graphql.ts';
import { fieldError, formError, request } from '../api/client.ts';
import { ErrorBox, Field } from '../components/ui.tsx';

const ImportKeys = graphql(`
  mutation DashboardImportKeys($upstreamId: ID!, $text: String!, $format: KeyImportFormat) {
    importKeys(upstreamId: $upstreamId, text: $text, format: $format) {
      added
      skipped
      invalid
      problems {
        line
        reason
      }
    }
  }
`);

/** Paste or pick a file; the report lists every rejected line (never the line itself: it may be a secret). */
export function KeyImport({ upstreamId, onImported }: { upstreamId: string; onImported: () => void }) {
  const [text, setText] = useState('');
  const [format, setFormat] = useState<KeyImportFormat>('LINES');
  const [report, setReport] = useState<DashboardImportKeysMutation['importKeys']>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  async function pickFile(input: HTMLInputElement) {
    const file = input.files?.[0];
    if (!file) return;
    setText(await file.text());
    if (/\.csv$/i.test(file.name)) setFormat('CSV');
    else if (/\.json$/i.test(file.name)) setFormat('JSON');
  }

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const data = await request(ImportKeys, { upstreamId, text, format });
      setReport(data.importKeys);
      setText('');
      onImported();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="import" onSubmit={submit}>
      <Field label="Keys to import" error={fieldError(error, 'text')} hint="One key per line; CSV is value,name,weight,quota; JSON is an array.">
        {(id, describedBy) => (
          <textarea id={id} rows={4} value={text} spellcheck={false} autoComplete="off" aria-describedby={describedBy} onInput={(e) => setText(e.currentTarget.value)} />
        )}
      </Field>
      <div class="inline-fields">
        <Field label="Format">
          {(id) => (
            <select id={id} value={format} onChange={(e) => setFormat(e.currentTarget.value as KeyImportFormat)}>
              <option value="LINES">One per line</option>
              <option value="CSV">CSV</option>
              <option value="JSON">JSON</option>
            </select>
          )}
        </Field>
        <Field label="Or read a file">{(id) => <input id={id} type="file" accept=".txt,.csv,.json,text/plain" onChange={(e) => pickFile(e.currentTarget)} />}</Field>
      </div>
      <ErrorBox error={formError(error, ['text'])} />
      <button type="submit" disabled={busy || !text.trim()}>
        Import keys
      </button>
      {report && (
        <div class="import-report" role="status">
          <p>
            Added {report.added}, skipped {report.skipped} (already in the pool or repeated), invalid {report.invalid}.
          </p>
          {report.problems.length > 0 && (
            <ol class="problems">
              {report.problems.map((p) => (
                <li key={p.line}>
                  Line {p.line}: {p.reason}
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </form>
  );
}
