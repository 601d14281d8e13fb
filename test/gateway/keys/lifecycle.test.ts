// The key lifecycle's contract: an admin's change is stored and applied, or
// neither; a change the gateway makes itself (rule, quota, timer) applies at
// once and its store is retried until the database takes it; memory and the
// database end on the same, newest change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyLifecycle, type KeyChangeStore } from '../../../src/keys/lifecycle.ts';
import { storeDisableCount, storeKeyChange } from '../../../src/keys/key-store.ts';
import { createLogger } from '../../../src/logger.ts';
import { startTestGateway, PROVIDERS, type TestGateway } from '../../support/gateway.ts';
import { createUpstream } from '../proxy/support.ts';

const FAR = () => Date.now() + 3_600_000;

async function gatewayWithKey(provider: 'sqlite' | 'postgres', name: string) {
  const t = await startTestGateway({ provider });
  // No request reaches the upstream in these tests.
  const up = await createUpstream(t, 'http://127.0.0.1:9', { name }, [{ value: `sk-${name}-00000000000000000001` }]);
  const keyId = Object.values(up.keyIds)[0]!;
  return { t, keyId, upstreamId: up.id };
}

async function storedStatus(t: TestGateway, keyId: string) {
  const row = await t.gateway.db.prisma.apiKey.findUniqueOrThrow({ where: { id: keyId } });
  const events = await t.gateway.db.prisma.keyEvent.findMany({ where: { keyId }, orderBy: { id: 'asc' } });
  return { status: row.status, events: events.map((e) => `${e.fromStatus}>${e.toStatus}:${e.actor}`) };
}

describe.skipIf(!PROVIDERS.includes('postgres'))('a key-state change PostgreSQL refuses', () => {
  let t: TestGateway;
  let keyId: string;
  let upstreamId: string;
  beforeAll(async () => ({ t, keyId, upstreamId } = await gatewayWithKey('postgres', 'refused')));
  afterAll(async () => t?.close());

  it('changes nothing in memory, in the pool or in the database, and later changes still go through', async () => {
    const { lifecycle, state } = t.gateway;
    const key = state.keys.get(keyId)!;
    const pool = state.upstreamsById.get(upstreamId)!.pool;
    // PostgreSQL refuses a NUL byte in text: the store fails inside the database, not in any input check.
    await expect(lifecycle.transition(keyId, 'DISABLED', { actor: 'ADMIN', reason: 'why\u0000not', until: FAR() })).rejects.toThrow();
    expect([key.status, key.statusReason, key.disabledUntil]).toEqual(['ACTIVE', null, null]);
    expect(pool.pick()?.id).toBe(keyId);
    expect(await storedStatus(t, keyId)).toEqual({ status: 'ACTIVE', events: [] });

    await lifecycle.transition(keyId, 'DISABLED', { actor: 'ADMIN', reason: 'why not' });
    expect(key.status).toBe('DISABLED');
    expect(pool.pick()).toBeNull();
    expect(await storedStatus(t, keyId)).toEqual({ status: 'DISABLED', events: ['ACTIVE>DISABLED:ADMIN'] });
  });
});

describe.each(PROVIDERS)('the lifecycle with a store that fails on %s', (provider) => {
  let t: TestGateway;
  let keyId: string;
  let upstreamId: string;
  beforeAll(async () => ({ t, keyId, upstreamId } = await gatewayWithKey(provider, `flaky-${provider}`)));
  afterAll(async () => t?.close());

  /** A lifecycle over the gateway's state whose store fails `failures` times, then stores for real. */
  function lifecycleWith(opts: { failures: number; gate?: Promise<void> }) {
    const { db, state, events } = t.gateway;
    const calls = { attempts: 0 };
    const store: KeyChangeStore = {
      async change(change, disableCount) {
        calls.attempts++;
        if (opts.gate && calls.attempts === 1) await opts.gate;
        if (calls.attempts <= opts.failures) throw new Error('database refused the write');
        await storeKeyChange(db.sql, change, disableCount);
      },
      disableCount: (id, value) => storeDisableCount(db.sql, id, value),
    };
    const lifecycle = new KeyLifecycle({ sql: db.sql, state, events, log: createLogger('silent'), store });
    return { lifecycle, calls };
  }

  const reset = async () => {
    await t.gateway.lifecycle.transition(keyId, 'ACTIVE', { actor: 'ADMIN', reason: 'reset' });
    await t.gateway.db.prisma.keyEvent.deleteMany({ where: { keyId } });
  };

  it("an admin change whose store fails rejects and leaves the key as it was", async () => {
    await reset();
    const { lifecycle } = lifecycleWith({ failures: Infinity });
    const key = t.gateway.state.keys.get(keyId)!;
    await expect(lifecycle.transition(keyId, 'BANNED', { actor: 'ADMIN', reason: 'no' })).rejects.toThrow('refused');
    expect(key.status).toBe('ACTIVE');
    expect(t.gateway.state.upstreamsById.get(upstreamId)!.pool.pick()?.id).toBe(keyId);
    expect(await storedStatus(t, keyId)).toEqual({ status: 'ACTIVE', events: [] });
    lifecycle.stop();
  });

  it('a rule-fired disable applies before any store, and its store is retried until it succeeds', async () => {
    await reset();
    const { lifecycle, calls } = lifecycleWith({ failures: 2 });
    const key = t.gateway.state.keys.get(keyId)!;
    const sub = t.gateway.events.subscribe('apiKey:stateChanged')[Symbol.asyncIterator]();
    // Asked before the change: the subscription listens from its first next().
    const next = sub.next();
    const stored = lifecycle.transition(keyId, 'DISABLED', { actor: 'RULE', reason: 'rule fired', until: FAR() });
    // Synchronously: the next pick must not see the key.
    expect(key.status).toBe('DISABLED');
    expect(t.gateway.state.upstreamsById.get(upstreamId)!.pool.pick()).toBeNull();
    const change = await stored;
    expect(calls.attempts).toBe(3);
    const event = (await next).value as { to: string; actor: string };
    await sub.return?.();
    expect(change?.to).toBe('DISABLED');
    expect([event.to, event.actor]).toEqual(['DISABLED', 'RULE']);
    expect(await storedStatus(t, keyId)).toEqual({ status: 'DISABLED', events: ['ACTIVE>DISABLED:RULE'] });
    lifecycle.stop();
  });

  it('an admin change stored after a newer rule change does not overwrite it: memory and database end on the newer one', async () => {
    await reset();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const { lifecycle } = lifecycleWith({ failures: 0, gate });
    const key = t.gateway.state.keys.get(keyId)!;
    const first = lifecycle.transition(keyId, 'DISABLED', { actor: 'RULE', reason: 'rule fired', until: FAR() });
    const admin = lifecycle.transition(keyId, 'ACTIVE', { actor: 'ADMIN', reason: 'back' });
    const quota = lifecycle.transition(keyId, 'EXHAUSTED', { actor: 'QUOTA', reason: 'quota used' });
    expect(key.status).toBe('EXHAUSTED');
    open();
    await Promise.all([first, admin, quota]);
    expect(key.status).toBe('EXHAUSTED');
    expect((await storedStatus(t, keyId)).status).toBe('EXHAUSTED');
    lifecycle.stop();
  });
});
