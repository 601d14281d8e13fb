import type { TypedDocumentString } from '../gql/graphql.ts';
import { adminToken, signOut } from '../auth.ts';

/** A GraphQL error as the server sends it; `field` is the input path at fault (`input.baseUrl`). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly field: string | undefined,
  ) {
    super(message);
  }
}

interface Wire<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; field?: string } }>;
}

/** One query or mutation over HTTP with the bearer token; throws ApiError on the first error. */
export async function request<R, V>(doc: TypedDocumentString<R, V>, variables?: V, token = adminToken.value): Promise<R> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token ?? ''}` },
    body: JSON.stringify({ query: doc.toString(), variables }),
  });
  if (res.status === 401) {
    if (token === adminToken.value) signOut();
    throw new ApiError('Wrong admin token', 'UNAUTHENTICATED', undefined);
  }
  const body = (await res.json()) as Wire<R>;
  const first = body.errors?.[0];
  if (first) throw new ApiError(first.message, first.extensions?.code, first.extensions?.field);
  if (!body.data) throw new ApiError(`HTTP ${res.status}`, undefined, undefined);
  return body.data;
}

/** The error text for a field: `input.baseUrl` matches field `baseUrl` (or the whole path). */
export function fieldError(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError) || !error.field) return undefined;
  const path = error.field;
  return path === field || path.endsWith(`.${field}`) || path.includes(`.${field}.`) ? error.message : undefined;
}

/** The message for errors no field claims. */
export function formError(error: unknown, fields: string[]): string | undefined {
  if (!error) return undefined;
  if (fields.some((f) => fieldError(error, f))) return undefined;
  return error instanceof Error ? error.message : String(error);
}
