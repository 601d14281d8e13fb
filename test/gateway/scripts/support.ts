// Shared by the header-script suites: the admin operations as plain strings
// (the suites read a few fields) and small request helpers.

import { gql, type GraphQLResponse } from '../../support/graphql-client.ts';

export const CREATE = `mutation ScriptCreate($input: CreateUpstreamInput!) { createUpstream(input: $input) { id name headerScript scriptCanReadKey scriptSecretNames } }`;
export const UPDATE = `mutation ScriptUpdate($id: ID!, $input: UpdateUpstreamInput!) { updateUpstream(id: $id, input: $input) { id headerScript scriptCanReadKey scriptSecretNames } }`;
export const TEST = `query ScriptTest($script: String!, $upstreamId: ID, $request: HeaderScriptRequestInput) {
  testHeaderScript(script: $script, upstreamId: $upstreamId, request: $request) { ok headers error line column durationMs }
}`;

export interface TestResult {
  ok: boolean;
  headers: Record<string, string> | null;
  error: string | null;
  line: number | null;
  column: number | null;
}

export async function testScript(url: string, script: string, extra: { upstreamId?: string; request?: Record<string, unknown> } = {}): Promise<TestResult & { text: string }> {
  const res = (await gql(url, TEST, { script, ...extra })) as GraphQLResponse<{ testHeaderScript: TestResult }>;
  if (res.errors?.length || !res.data) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors)}`);
  return { ...res.data.testHeaderScript, text: res.text };
}

/** The first GraphQL error of a mutation that must fail. */
export async function gqlError(url: string, query: string, variables: Record<string, unknown>): Promise<{ message: string; code?: string; field?: string; text: string }> {
  const res = await gql(url, query, variables);
  const error = res.errors?.[0];
  if (!error) throw new Error(`expected an error, got ${res.text}`);
  return { message: error.message, code: error.extensions?.code, field: error.extensions?.field, text: res.text };
}
