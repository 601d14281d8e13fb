// npm run db:migrate: applies pending migrations to DATABASE_URL (the same
// step the gateway runs at start), through the Wasm schema engine.
import { ConfigError, loadConfig } from '../config.ts';
import { openDatabase } from '../db/client.ts';

try {
  const config = loadConfig();
  const db = await openDatabase(config.database);
  try {
    const applied = await db.migrate();
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations');
  } finally {
    await db.close();
  }
} catch (error) {
  console.error(`keyrelay: ${error instanceof ConfigError ? error.message : (error as Error).message}`);
  process.exit(1);
}
