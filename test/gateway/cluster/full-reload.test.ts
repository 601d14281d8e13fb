// The safety net under the events: what changed in the database without an
// event reaching this instance (Redis was down) is found by comparing memory
// with the database, and only that is re-read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigChanged } from '../../../src/events/bus.ts';
import { CLUSTER_SECRET } from '../../support/cluster-instances.ts';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { REDIS_URL } from '../../support/redis.ts';
import { createUpstream } from './support.ts';

describe('full reload (cluster mode)', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ provider: 'postgres', env: { KEYRELAY_REDIS_URL: REDIS_URL, KEYRELAY_SECRET: CLUSTER_SECRET } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('re-reads upstreams and keys that differ from the database, removes deleted ones, leaves the rest (and their pools) alone', async () => {
    const { gateway } = t;
    const one = await createUpstream(t.url, 'one', 'http://127.0.0.1:9/v1', ['sk-one-a', 'sk-one-b']);
    const two = await createUpstream(t.url, 'two', 'http://127.0.0.1:9/v1', ['sk-two-a', 'sk-two-b']);
    const untouched = gateway.state.upstreamsById.get(two.upstreamId)!;
    const announced: ConfigChanged[] = [];
    const changes = gateway.events.subscribe('config:changed');
    void (async () => {
      for await (const change of changes) announced.push(change);
    })();

    // Behind the gateway's back, as another instance would while Redis is down.
    const { sql } = gateway.db;
    await sql.execute('UPDATE "Upstream" SET "timeoutMs" = ? WHERE "id" = ?', [12_345, one.upstreamId]);
    await sql.execute('UPDATE "ApiKey" SET "status" = ?, "statusReason" = ? WHERE "id" = ?', ['BANNED', 'banned elsewhere', two.keyIds[0]]);
    await sql.execute('DELETE FROM "ApiKey" WHERE "id" = ?', [two.keyIds[1]]);
    await gateway.sync!.reload();

    expect(gateway.state.upstreamsById.get(one.upstreamId)!.config.timeoutMs).toBe(12_345);
    expect(gateway.state.keys.get(two.keyIds[0]!)).toMatchObject({ status: 'BANNED', statusReason: 'banned elsewhere' });
    expect(gateway.state.keys.has(two.keyIds[1]!)).toBe(false);
    expect(untouched.keys.has(two.keyIds[1]!)).toBe(false);
    // The upstream that did not change kept its runtime (and so its key pool and connection pool).
    expect(gateway.state.upstreamsById.get(two.upstreamId)).toBe(untouched);
    await new Promise((r) => setImmediate(r));
    expect(announced).toEqual(
      expect.arrayContaining([
        { kind: 'upstream', id: one.upstreamId },
        { kind: 'key', id: two.keyIds[0], upstreamId: two.upstreamId },
        { kind: 'key', id: two.keyIds[1], upstreamId: two.upstreamId },
      ]),
    );
    expect(announced.every((c) => gateway.events.isRemote(c))).toBe(true);

    // Nothing differs now: a second comparison re-reads nothing.
    announced.length = 0;
    await gateway.sync!.reload();
    await new Promise((r) => setImmediate(r));
    expect(announced).toEqual([]);
    await changes.return?.();
  });
});
