// Started as the README says (HOST=0.0.0.0, NODE_ENV unset) keyrelay is
// reachable from the network, so error details stay masked as in production.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql } from '../../support/graphql-client.ts';

describe('error details by default', () => {
  it('are on only for an explicit development or test NODE_ENV, or a loopback HOST; never in production', () => {
    const details = (env: Record<string, string>) => loadConfig({ KEYRELAY_DATA_DIR: '/tmp/unused', ...env }).errorDetails;
    expect(details({})).toBe(false); // HOST defaults to 0.0.0.0
    expect(details({ HOST: '0.0.0.0' })).toBe(false);
    expect(details({ HOST: '127.0.0.1' })).toBe(true);
    expect(details({ HOST: '0.0.0.0', NODE_ENV: 'development' })).toBe(true);
    expect(details({ HOST: '127.0.0.1', NODE_ENV: 'production' })).toBe(false);
  });
});

describe('HOST=0.0.0.0 without NODE_ENV', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ env: { HOST: '0.0.0.0', NODE_ENV: '' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('unauthenticated callers get a plain 401 or 404, nothing internal', async () => {
    const bad = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(bad.status).toBe(401);
    expect(await bad.text()).not.toMatch(/stack|at .*\.(js|ts):\d+|SyntaxError/);
    const missing = await fetch(`${t.url}/nowhere`);
    expect(await missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'not found', type: 'keyrelay_error' } });
  });

  it('an unexpected error is masked as "Unexpected error." (no SQL, no stack)', async () => {
    await t.gateway.db.sql.execute('DROP TABLE "KeyEvent"');
    const broken = await gql(t.url, `{ keyEvents(first: 1) { edges { node { id } } } }`);
    expect(broken.errors?.[0]?.message).toBe('Unexpected error.');
    expect(broken.text).not.toMatch(/"KeyEvent"|sqlite|prisma|no such table|stack|SELECT/i);
  });
});
