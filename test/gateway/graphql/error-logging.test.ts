// A client's bad input is the client's business: logged at info, one line,
// no stack. `error` is for what an operator must act on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql } from '../../support/graphql-client.ts';

const level = (line: string) => (JSON.parse(line) as { level: number }).level;

describe('logging GraphQL errors', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('bad input, unknown fields, bad variables, a non-JSON POST and an unknown upstream log nothing at warn or above', async () => {
    const from = t.logLines.length;
    const bad = await gql(t.url, 'mutation { createUpstream(input: { name: "bad name!", baseUrl: "https://x.example.com" }) { id } }');
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect((await gql(t.url, '{ nope }')).errors).toBeDefined();
    expect((await gql(t.url, 'query($n: Int!) { upstreams { name } }', { n: 'x' } as never)).errors).toBeDefined();
    const text = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/plain' }, body: '{}' });
    expect(text.status).toBe(403);
    // Without a token an unknown upstream is refused as unauthenticated (names are not told to strangers).
    expect((await fetch(`${t.url}/proxy/no-such-upstream/x`)).status).toBe(401);

    const lines = t.logLines.slice(from);
    expect(lines.filter((l) => level(l) >= 40)).toEqual([]);
    const refused = lines.filter((l) => l.includes('graphql request refused'));
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.join('\n')).toContain('"code":"BAD_USER_INPUT"');
    expect(refused.join('\n')).not.toMatch(/"stack"|at .*\.ts:\d+/);
  });

  it('an unexpected failure is still an error with its stack', async () => {
    const from = t.logLines.length;
    await t.gateway.db.sql.execute('DROP TABLE "KeyEvent"');
    expect((await gql(t.url, '{ keyEvents(first: 1) { edges { node { id } } } }')).errors).toBeDefined();
    const errors = t.logLines.slice(from).filter((l) => level(l) >= 50);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.join('\n')).toContain('"stack"');
  });
});
