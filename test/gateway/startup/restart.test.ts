import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listMigrations } from '../../../src/db/migrate.ts';
import { describe, expect, it } from 'vitest';
import { PROVIDERS, createTestDatabase, startTestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';

describe.each(PROVIDERS)('restart on %s', (provider) => {
  it('keeps every row and the in-memory state, and applies no migration twice', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyrelay-restart-'));
    const database = await createTestDatabase(provider, dataDir);
    try {
      const first = await startTestGateway({ provider, dataDir, database });
      expect(first.logLines.some((l) => l.includes('"msg":"applied migrations"'))).toBe(true);
      const { createUpstream } = await gqlOk<{ createUpstream: { id: string } }, undefined>(first.url, 'mutation { createUpstream(input: { name: "kept", baseUrl: "https://api.example.com/v1" }) { id } }');
      await gqlOk(first.url, `mutation { addKeys(upstreamId: "${createUpstream.id}", keys: [{ value: "sk-restart-0123456789abcdef" }]) { id } }`);
      await first.close({ drop: false });

      const second = await startTestGateway({ provider, dataDir, database });
      try {
        expect(second.logLines.some((l) => l.includes('"msg":"database schema up to date"'))).toBe(true);
        expect(second.logLines.some((l) => l.includes('"msg":"applied migrations"'))).toBe(false);
        const data = await gqlOk(second.url, '{ upstreams { name } keys(first: 5) { edges { node { fingerprint status } } } }');
        expect(data).toEqual({ upstreams: [{ name: 'kept' }], keys: { edges: [{ node: { fingerprint: '…cdef', status: 'ACTIVE' } }] } });
        // the key decrypts with the same master key file after the restart
        expect([...second.gateway.state.keys.values()].map((k) => k.secret)).toEqual(['sk-restart-0123456789abcdef']);
        const migrations = await second.gateway.db.sql.query<{ n: number | bigint }>('SELECT COUNT(*) AS n FROM "_prisma_migrations"');
        // Each migration recorded once, however many the project has by now.
        expect(Number(migrations[0]!.n)).toBe((await listMigrations(provider)).length);
      } finally {
        await second.close({ drop: false });
      }
    } finally {
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
