// Every GraphQL operation in docs/admin-api.md is valid against the schema,
// and every query and mutation passes the gateway's limits as written.
import { readFileSync } from 'node:fs';
// graphql's CommonJS build: the one the schema's builder (Pothos) loaded.
import { parse, validate } from 'graphql/index.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getSchema } from '../../../src/graphql/schema.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql } from '../../support/graphql-client.ts';

const doc = readFileSync(new URL('../../../docs/admin-api.md', import.meta.url), 'utf8');

/** The JSON bodies of `gq '…'` and `curl … -d '…'`, and the queries jq builds. */
function operations(): Array<{ query: string; variables?: Record<string, unknown> }> {
  const found: Array<{ query: string; variables?: Record<string, unknown> }> = [];
  for (const match of doc.matchAll(/(?:gq|-d) '(\{"query".*?\})'/g)) found.push(JSON.parse(match[1]!));
  for (const match of doc.matchAll(/\{query: ("(?:[^"\\]|\\.)*")/g)) found.push({ query: JSON.parse(match[1]!) as string });
  return found;
}

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t?.close();
});

it('finds the documented operations', () => {
  const ops = operations();
  expect(ops.length).toBeGreaterThanOrEqual(20);
  for (const field of ['upstreams', 'keys(', 'requestLogs', 'keyEvents', 'stats', 'importKeys', 'exportKeys', 'setKeysStatus', 'resetQuota', 'revokeAccessToken', 'exportConfig', 'importConfig', 'requestLogged', 'keyStateChanged']) {
    expect(ops.some((o) => o.query.includes(field)), field).toBe(true);
  }
});

it('each one validates against the schema and passes the limits', async () => {
  for (const op of operations()) {
    const errors = validate(getSchema(), parse(op.query));
    expect(errors.map((e) => e.message), op.query).toEqual([]);
    if (op.query.trimStart().startsWith('subscription')) continue;
    const res = await gql(t.url, op.query, op.variables);
    for (const error of res.errors ?? []) {
      expect(String(error.extensions?.code), `${op.query}\n${error.message}`).not.toMatch(/GRAPHQL_(VALIDATION|PARSE)_FAILED/);
      expect(error.message, op.query).not.toMatch(/Syntax Error|depth|cost|alias|token limit|Unexpected error/i);
    }
  }
});
