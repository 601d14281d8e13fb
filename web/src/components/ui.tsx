import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status.toLowerCase()}`}>{status}</span>;
}

interface FieldProps {
  label: string;
  error?: string;
  hint?: string;
  children: (id: string, describedBy: string | undefined) => ComponentChildren;
}

/** A labelled control with its error right under it (aria-describedby ties them). */
export function Field({ label, error, hint, children }: FieldProps) {
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <div class={`field${error ? ' field-invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children(id, error ? errorId : undefined)}
      {hint && !error && <small class="hint">{hint}</small>}
      {error && (
        <small class="field-error" id={errorId} role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

export function ErrorBox({ error }: { error?: string | null }) {
  return error ? (
    <p class="error-box" role="alert">
      {error}
    </p>
  ) : null;
}

export function Card({ title, children, actions }: { title: ComponentChildren; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card">
      <header class="card-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function time(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleTimeString() : '—';
}

export function dateTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
