import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode } from 'graphql';
import { ADMIN_TOKEN } from './gateway.ts';

export interface GraphQLResponse<T> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; field?: string } & Record<string, unknown> }>;
  /** The raw response text, for secret checks. */
  text: string;
}

/** POSTs one operation to /graphql with the admin token (or another token, or none). */
export async function gql<TResult, TVariables>(
  baseUrl: string,
  document: TypedDocumentNode<TResult, TVariables> | DocumentNode | string,
  variables?: TVariables,
  opts: { token?: string | null } = {},
): Promise<GraphQLResponse<TResult>> {
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: typeof document === 'string' ? document : print(document), variables }),
  });
  const text = await res.text();
  const body = JSON.parse(text) as Omit<GraphQLResponse<TResult>, 'status' | 'text'>;
  return { status: res.status, ...body, text };
}

/** Like gql, but fails the test on any GraphQL error and returns data. */
export async function gqlOk<TResult, TVariables>(
  baseUrl: string,
  document: TypedDocumentNode<TResult, TVariables> | DocumentNode | string,
  variables?: TVariables,
): Promise<TResult> {
  const res = await gql(baseUrl, document, variables);
  if (res.errors?.length || !res.data) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors)}`);
  return res.data;
}
