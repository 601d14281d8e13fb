// The new upstream columns on both databases: a scripted upstream with
// secrets survives a restart (compiled again from the stored row, secrets
// decrypted with the master key) and the stored secrets are ciphertext.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PROVIDERS, createTestDatabase, startTestGateway } from '../../support/gateway.ts';
import { gqlOk } from '../../support/graphql-client.ts';
import { startMockUpstream, type RecordedRequest } from '../../support/mock-upstream.ts';
import { bearer, createToken, send } from '../proxy/support.ts';
import { CREATE } from './support.ts';

const SECRET = 'whsec-persisted-0123456789';

describe.each(PROVIDERS)('header scripts stored on %s', (provider) => {
  it('compile again from the stored row after a restart, with their secrets', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyrelay-scripts-'));
    const database = await createTestDatabase(provider, dataDir);
    const mock = await startMockUpstream();
    try {
      const first = await startTestGateway({ provider, dataDir, database });
      const created = await gqlOk(first.url, CREATE, {
        input: { name: 'kept', baseUrl: mock.url, headerScript: `return { 'x-sig': hmacSha256Hex(env.S, request.path) };`, scriptSecrets: { S: SECRET }, scriptCanReadKey: false },
      });
      const id = (created as { createUpstream: { id: string } }).createUpstream.id;
      await gqlOk(first.url, `mutation { addKeys(upstreamId: "${id}", keys: [{ value: "sk-persist-0123456789abcdef" }]) { id } }`);
      const token = (await createToken(first)).token;
      const stored = await first.gateway.db.sql.query<{ scriptSecrets: string; scriptCanReadKey: unknown }>('SELECT "scriptSecrets", "scriptCanReadKey" FROM "Upstream"');
      expect(stored[0].scriptSecrets.startsWith('v1:')).toBe(true);
      expect(stored[0].scriptSecrets.includes(SECRET)).toBe(false);
      await first.close({ drop: false });

      const second = await startTestGateway({ provider, dataDir, database });
      try {
        const res = await send(second.url, { path: '/proxy/kept/v1/models', headers: { ...bearer(token), 'x-mock': 'echo' } });
        expect(res.status).toBe(200);
        const seen = (JSON.parse(res.body) as RecordedRequest).headers['x-sig'];
        expect(seen).toBe(createHmac('sha256', SECRET).update('/v1/models').digest('hex'));
        const data = await gqlOk(second.url, `{ upstream(name: "kept") { headerScript scriptSecretNames scriptCanReadKey } }`);
        expect(data).toEqual({ upstream: { headerScript: `return { 'x-sig': hmacSha256Hex(env.S, request.path) };`, scriptSecretNames: ['S'], scriptCanReadKey: false } });
        // Clearing the secrets empties the column.
        await gqlOk(second.url, `mutation { updateUpstream(id: "${id}", input: { headerScript: null, scriptSecrets: null }) { id } }`);
        const cleared = await second.gateway.db.sql.query<{ headerScript: string | null; scriptSecrets: string | null }>('SELECT "headerScript", "scriptSecrets" FROM "Upstream"');
        expect(cleared[0]).toEqual({ headerScript: null, scriptSecrets: null });
      } finally {
        await second.close({ drop: false });
      }
    } finally {
      await mock.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
