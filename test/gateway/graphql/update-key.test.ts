// updateKey / updateKeys: a key edited in place keeps its id, usage and
// history, and the pool follows a weight change from the next request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../generated/index.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { gql, gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createToken, createUpstream, logRows, send } from '../proxy/support.ts';

const UpdateKey = graphql(`
  mutation OpsUpdateKey($id: ID!, $input: UpdateKeyInput!) { updateKey(id: $id, input: $input) { id name weight quota used requestCount status } }
`);
const UpdateKeys = graphql(`mutation OpsUpdateKeys($input: [KeyUpdateInput!]!) { updateKeys(input: $input) { id name weight quota } }`);
const SetStatus = graphql(`mutation OpsSetKeyStatus($id: ID!, $status: KeyStatus!) { setKeyStatus(id: $id, status: $status) { id } }`);
const KeyEvents = graphql(`query OpsKeyEvents($keyId: ID!) { keyEvents(keyId: $keyId, first: 50) { edges { node { id from to actor reason } } } }`);

const values = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `sk-${prefix}-${String(i).padStart(24, '0')}`);

describe('updateKey / updateKeys', () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let token: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway();
    token = (await createToken(t)).token;
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  async function hit(name: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) expect((await send(t.url, { path: `/proxy/${name}/x`, headers: bearer(token) })).status).toBe(200);
  }

  it('a weight change moves the key\'s share of traffic at once (30 requests each way)', async () => {
    const [a, b] = values('w', 2);
    const up = await createUpstream(t, mock, { name: 'shift', strategy: 'WEIGHTED' }, [{ value: a, weight: 1 }, { value: b, weight: 1 }]);
    mock.reset();
    await hit('shift', 30);
    expect(mock.hitsByKey[a]).toBeGreaterThan(0);
    expect(mock.hitsByKey[b]).toBeGreaterThan(0);

    // Weight 0 is used only when no key with a positive weight is usable: every request moves to a.
    await gqlOk(t.url, UpdateKey, { id: up.keyIds[b], input: { weight: 0 } });
    mock.reset();
    await hit('shift', 30);
    expect(mock.hitsByKey).toEqual({ [a]: 30 });

    const res = await gqlOk(t.url, UpdateKeys, { input: [{ id: up.keyIds[a], weight: 0 }, { id: up.keyIds[b], weight: 5 }] });
    expect(res.updateKeys.map((k) => k.weight)).toEqual([0, 5]);
    mock.reset();
    await hit('shift', 30);
    expect(mock.hitsByKey).toEqual({ [b]: 30 });
  });

  it('name and quota change in place: same id, usage and KeyEvent history kept; the quota moves the status', async () => {
    const [a] = values('q', 1);
    const up = await createUpstream(t, mock, { name: 'edit', strategy: 'ROUND_ROBIN' }, [{ value: a, name: 'first', quota: 3 }]);
    const id = up.keyIds[a];
    await gqlOk(t.url, SetStatus, { id, status: 'DISABLED' });
    await gqlOk(t.url, SetStatus, { id, status: 'ACTIVE' });
    await hit('edit', 3);
    expect((await send(t.url, { path: '/proxy/edit/x', headers: bearer(token) })).status).toBe(503);
    await logRows(t); // the usage reaches the database before the edit reloads the key
    await t.gateway.lifecycle.flushed();

    const raised = await gqlOk(t.url, UpdateKey, { id, input: { name: 'renamed', quota: 10 } });
    expect(raised.updateKey).toMatchObject({ id, name: 'renamed', quota: 10, used: 3, requestCount: 3, status: 'ACTIVE' });
    await hit('edit', 1);

    const lowered = await gqlOk(t.url, UpdateKey, { id, input: { quota: 2 } });
    expect(lowered.updateKey).toMatchObject({ id, name: 'renamed', quota: 2, used: 4, status: 'EXHAUSTED' });
    const unlimited = await gqlOk(t.url, UpdateKey, { id, input: { quota: null } });
    expect(unlimited.updateKey).toMatchObject({ quota: null, status: 'ACTIVE', weight: 1 });

    const events = (await gqlOk(t.url, KeyEvents, { keyId: id })).keyEvents.edges.map((e) => `${e.node.from}>${e.node.to}:${e.node.actor}`);
    expect(events.sort()).toEqual(
      ['ACTIVE>DISABLED:ADMIN', 'DISABLED>ACTIVE:ADMIN', 'ACTIVE>EXHAUSTED:QUOTA', 'EXHAUSTED>ACTIVE:ADMIN', 'ACTIVE>EXHAUSTED:ADMIN', 'EXHAUSTED>ACTIVE:ADMIN'].sort(),
    );
    expect(t.gateway.state.keys.get(id)?.name).toBe('renamed');
  });

  it('bad input names the field and changes nothing', async () => {
    const [a, b] = values('bad', 2);
    const up = await createUpstream(t, mock, { name: 'bad' }, [{ value: a, name: 'keep-a' }, { value: b, name: 'keep-b' }]);
    const negative = await gql(t.url, UpdateKey, { id: up.keyIds[a], input: { weight: -1 } });
    expect(negative.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.weight' });
    const empty = await gql(t.url, UpdateKey, { id: up.keyIds[a], input: { name: '  ' } });
    expect(empty.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.name' });
    const unknown = await gql(t.url, UpdateKeys, { input: [{ id: up.keyIds[a], name: 'x' }, { id: 'nope', name: 'y' }] });
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'input.1.id' });
    const names = await t.gateway.db.prisma.apiKey.findMany({ where: { upstreamId: up.id }, orderBy: { name: 'asc' }, select: { name: true } });
    expect(names.map((n) => n.name)).toEqual(['keep-a', 'keep-b']);
  });
});
