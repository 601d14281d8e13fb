// npm run db:migrate: applies pending migrations to DATABASE_URL (the same
// step the gateway runs at start), through the Wasm schema engine.
import { ConfigError, loadConfig } from '../config.ts';
import { migrateDatabase } from '../db/client.ts';

try {
  const config = loadConfig();
  const applied = await migrateDatabase(config.database);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations');
} catch (error) {
  console.error(`keyrelay: ${error instanceof ConfigError ? error.message : (error as Error).message}`);
  process.exit(1);
}
