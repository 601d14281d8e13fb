// Helpers for the job suites: upstreams and keys through the admin API, then
// the key rows put into the state a test needs (as another instance, or a
// timer that never fired, would have left them) and re-read into memory.
import { graphql } from '../../../generated/index.ts';
import type { Gateway } from '../../../../src/gateway.ts';
import { gqlOk } from '../../../support/graphql-client.ts';

const JobsCreateUpstream = graphql(`
  mutation JobsCreateUpstream($input: CreateUpstreamInput!) { createUpstream(input: $input) { id name } }
`);
const JobsAddKeys = graphql(`
  mutation JobsAddKeys($upstreamId: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $upstreamId, keys: $keys) { id name } }
`);

export interface SeededUpstream {
  id: string;
  /** Key id by key name. */
  keys: Record<string, string>;
}

export async function seedUpstream(
  url: string,
  input: { name: string; baseUrl?: string; quotaResetCron?: string; quotaResetTimezone?: string; probe?: { method: string; path: string; expectStatus: number } },
  keys: Array<{ name: string; value?: string; quota?: number }>,
): Promise<SeededUpstream> {
  const created = await gqlOk(url, JobsCreateUpstream, { input: { baseUrl: 'http://127.0.0.1:9/v1', ...input } });
  const id = created.createUpstream.id;
  const added = await gqlOk(url, JobsAddKeys, {
    upstreamId: id,
    keys: keys.map((k) => ({ name: k.name, value: k.value ?? `sk-test-${input.name}-${k.name}-${Math.random().toString(36).slice(2, 14)}`, quota: k.quota })),
  });
  return { id, keys: Object.fromEntries(added.addKeys.map((k) => [k.name, k.id])) };
}

export interface KeyPatch {
  status?: 'ACTIVE' | 'DISABLED' | 'BANNED' | 'EXHAUSTED';
  quotaUsed?: number;
  quotaResetAt?: number | null;
  disabledUntil?: number | null;
}

/** Writes key columns directly and re-reads the key into memory (no lifecycle timer is armed). */
export async function patchKey(gateway: Gateway, keyId: string, patch: KeyPatch): Promise<void> {
  const { sql } = gateway.db;
  const sets: string[] = [];
  const params: Array<string | number | Date | null> = [];
  for (const [column, value] of Object.entries(patch)) {
    sets.push(`"${column}" = ?`);
    params.push(typeof value === 'number' && column !== 'quotaUsed' ? (sql.time(value) as number | Date) : (value as string | number | null));
  }
  await sql.execute(`UPDATE "ApiKey" SET ${sets.join(', ')} WHERE "id" = ?`, [...params, keyId]);
  await gateway.state.reloadKey(keyId, { takeUsedFromDb: true });
}

export async function addCooldown(gateway: Gateway, keyId: string, model: string, until: number): Promise<void> {
  const { sql } = gateway.db;
  await sql.execute('INSERT INTO "KeyModelCooldown" ("keyId", "model", "until", "reason") VALUES (?, ?, ?, ?)', [keyId, model, sql.time(until), 'seeded']);
  await gateway.state.reloadKey(keyId);
}

/** The key columns a job may change, as stored. */
export async function keyRows(gateway: Gateway, ids: string[]) {
  const rows = await gateway.db.prisma.apiKey.findMany({
    where: { id: { in: ids } },
    select: { id: true, status: true, quotaUsed: true, quotaResetAt: true, disabledUntil: true, statusReason: true, updatedAt: true, modelCooldowns: true },
    orderBy: { id: 'asc' },
  });
  return rows;
}

export async function jobEvents(gateway: Gateway, keyIds: string[]) {
  return gateway.db.prisma.keyEvent.findMany({ where: { keyId: { in: keyIds }, actor: 'JOB' }, orderBy: { id: 'asc' } });
}

/** Old key events, fast: multi-row INSERTs in one transaction. */
export async function seedKeyEvents(gateway: Gateway, count: number, createdAt: number): Promise<void> {
  const { sql } = gateway.db;
  const statements = [];
  for (let i = 0; i < count; i += 500) {
    const n = Math.min(500, count - i);
    const values = Array.from({ length: n }, () => "(?, 'seeded', 'ACTIVE', 'DISABLED', 'RULE')").join(', ');
    statements.push({
      sql: `INSERT INTO "KeyEvent" ("createdAt", "keyName", "fromStatus", "toStatus", "actor") VALUES ${values}`,
      params: Array.from({ length: n }, (_, j) => sql.time(createdAt + i + j)),
    });
  }
  await sql.transaction(statements);
}
