// A migrated SQLite database in a temporary folder holding what request-log
// rows reference: upstream `up1`, token `tok1` and the given keys, so the
// log's foreign keys hold. For the benchmarks that run the log writer or its
// store without a whole keyrelay (hot-path.mjs, log-store.mjs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrateDatabase } from '../dist/db/client.js';

export async function createLogDatabase(name, keyIds) {
  const dir = mkdtempSync(join(tmpdir(), `keyrelay-${name}-`));
  const target = { provider: 'sqlite', file: join(dir, 'k.db'), url: `file:${join(dir, 'k.db')}` };
  await migrateDatabase(target);
  const db = new Database(target.file);
  db.exec(`INSERT INTO "Upstream" ("id", "name", "baseUrl", "updatedAt") VALUES ('up1', 'bench', 'http://127.0.0.1:9', 0)`);
  const addKey = db.prepare(`INSERT INTO "ApiKey" ("id", "upstreamId", "name", "secretCipher", "secretHash", "fingerprint", "updatedAt") VALUES (?, 'up1', ?, 'c', ?, 'f', 0)`);
  db.transaction(() => keyIds.forEach((id, i) => addKey.run(id, `k${i}`, `h${i}`)))();
  db.exec(`INSERT INTO "AccessToken" ("id", "name", "tokenHash", "prefix", "updatedAt") VALUES ('tok1', 'bench', 'h', 'p', 0)`);
  db.close();
  return { target, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
