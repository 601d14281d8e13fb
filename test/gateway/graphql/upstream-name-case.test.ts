// Upstream names are unique regardless of case, on SQLite and PostgreSQL
// alike (a lower-case key column with a unique index); the proxy route still
// matches the stored name exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS, startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql } from '../../support/graphql-client.ts';
import { createToken } from '../proxy/support.ts';

const create = (name: string) => `mutation { createUpstream(input: { name: "${name}", baseUrl: "https://api.example.com/v1" }) { id name } }`;
const rename = (id: string, name: string) => `mutation { updateUpstream(id: "${id}", input: { name: "${name}" }) { id name } }`;

describe.each(PROVIDERS)('upstream names regardless of case on %s', (provider) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ provider });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses "openai" beside "OpenAI" with BAD_USER_INPUT on input.name, naming the existing one', async () => {
    const first = await gql(t.url, create('OpenAI'));
    expect(first.errors).toBeUndefined();
    for (const name of ['openai', 'OPENAI', 'OpenAI']) {
      const clash = await gql(t.url, create(name));
      expect(clash.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.name' });
      expect(clash.errors?.[0]?.message).toContain('"OpenAI"');
    }
    expect(await t.gateway.db.prisma.upstream.count({ where: { name: { in: ['openai', 'OPENAI'] } } })).toBe(0);
  });

  it('a rename into another upstream’s name in another case is refused; a change of case of its own name is fine', async () => {
    const other = await gql<{ createUpstream: { id: string } }, never>(t.url, create('anthropic'));
    const clash = await gql(t.url, rename(other.data!.createUpstream.id, 'openAI'));
    expect(clash.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.name' });
    const own = await gql<{ updateUpstream: { name: string } }, never>(t.url, rename(other.data!.createUpstream.id, 'Anthropic'));
    expect(own.errors).toBeUndefined();
    expect(own.data?.updateUpstream.name).toBe('Anthropic');
  });

  it('the database itself refuses a second name differing only in case', async () => {
    await expect(t.gateway.db.prisma.upstream.create({ data: { name: 'OPENAI', nameKey: 'openai', baseUrl: 'https://x.example.com' } })).rejects.toThrow();
  });

  it('the proxy route matches the stored name exactly', async () => {
    const { token } = await createToken(t);
    const res = await fetch(`${t.url}/proxy/openai/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNKNOWN_UPSTREAM');
    // The stored name is routed (then answered 503: the upstream has no key).
    expect((await fetch(`${t.url}/proxy/OpenAI/v1/models`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(503);
  });
});
