// A SQLite database locked by another connection (a backup, the sqlite3 CLI)
// while rules fire: the rule-fired disables take effect at once, their
// stores wait off the event loop, so the proxy keeps answering fast; once the
// lock is gone every disable is stored with its KeyEvent.
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { startMockUpstream, type MockUpstream } from '../../support/mock-upstream.ts';
import { bearer, createToken, createUpstream, send, type TestUpstream } from '../proxy/support.ts';

const GOOD = Array.from({ length: 30 }, (_, i) => `sk-lock-good-${String(i).padStart(20, '0')}`);
const BAD = Array.from({ length: 10 }, (_, i) => `sk-lock-bad-${String(i).padStart(21, '0')}`);

describe('rules firing while another connection holds the SQLite write lock', () => {
  let t: TestGateway;
  let mock: MockUpstream;
  let token: string;
  let up: TestUpstream;

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestGateway({ provider: 'sqlite' });
    // Every fourth key is bad, so a retry after a bad key's 429 lands on a good one: the round robin keeps its
    // order when a disabled key leaves it (the default two retries are plenty).
    const interleaved = GOOD.flatMap((good, i) => (i % 3 === 2 ? [good, BAD[(i - 2) / 3]!] : [good]));
    up = await createUpstream(t, mock, { name: 'locked-rules', strategy: 'ROUND_ROBIN', maxEjectionPercent: 100 }, interleaved.map((value) => ({ value })));
    await t.gateway.services.rules.create({ upstreamId: up.id, name: 'rest on 429', condition: { status: { equals: 429 } }, actions: ['DISABLE_KEY'], disableForSeconds: 600 });
    token = (await createToken(t)).token;
  });
  afterAll(async () => {
    await t?.close();
    await mock?.close();
  });

  // The bound is 50 ms above the same traffic's p99 without the lock (measured
  // first, in this run): on a quiet machine that p99 is a few ms, on a loaded
  // one it absorbs the noise the lock is not the cause of. Key writes on the
  // event loop made it 5,200 ms here (the busy timeout).
  it('keeps the proxy p99 within 50 ms of the unlocked p99; every disable is stored once the lock is released', async () => {
    if (t.config.database.provider !== 'sqlite') throw new Error('sqlite only');
    const request = async () => {
      const started = performance.now();
      const res = await send(t.url, { path: '/proxy/locked-rules/v1/models', headers: bearer(token) });
      expect(res.status, `attempts ${String(res.headers['x-keyrelay-attempts'])}: ${res.body.slice(0, 300)}`).toBe(200);
      return performance.now() - started;
    };
    const p99 = (latencies: number[]) => [...latencies].sort((a, b) => a - b)[Math.ceil(latencies.length * 0.99) - 1]!;
    for (let i = 0; i < 10; i++) await request(); // warm the connection paths before measuring
    const unlocked: number[] = [];
    for (let i = 0; i < 120; i++) unlocked.push(await request());
    for (const key of BAD) mock.byKey[key] = 'status:429';

    const locker = new Database(t.config.database.file);
    locker.exec('BEGIN EXCLUSIVE');
    const latencies: number[] = [];
    try {
      // Round robin over 40 keys: 120 requests meet every bad key that is still in the pool.
      for (let i = 0; i < 120; i++) latencies.push(await request());
    } finally {
      locker.exec('COMMIT');
      locker.close();
    }
    const disabled = BAD.filter((k) => t.gateway.state.keys.get(up.keyIds[k]!)!.status === 'DISABLED');
    // Every disable fired while the lock was held: the bad keys answered 429 only from then on.
    expect(disabled.length).toBe(BAD.length);
    const [before, during] = [p99(unlocked), p99(latencies)];
    expect(during, `p99 ${during.toFixed(1)} ms locked, ${before.toFixed(1)} ms unlocked`).toBeLessThan(before + 50);

    await t.gateway.lifecycle.flushed();
    const ids = BAD.map((k) => up.keyIds[k]!);
    const marks = ids.map(() => '?').join(', ');
    const rows = await t.gateway.db.sql.query<{ status: string }>(`SELECT "status" FROM "ApiKey" WHERE "id" IN (${marks})`, ids);
    expect(rows.map((r) => r.status)).toEqual(ids.map(() => 'DISABLED'));
    const events = await t.gateway.db.sql.query<{ n: number }>(`SELECT COUNT(*) AS n FROM "KeyEvent" WHERE "toStatus" = 'DISABLED' AND "actor" = 'RULE' AND "keyId" IN (${marks})`, ids);
    expect(Number(events[0]!.n)).toBe(BAD.length);
  }, 120_000);
});
