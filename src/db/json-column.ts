/**
 * Rows store lists and objects as JSON text (one format for SQLite and
 * PostgreSQL); whoever reads such a column parses it with this, falling back
 * when it is empty or not JSON.
 */
export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (text == null || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
