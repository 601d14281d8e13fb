// npm run db:migration -- <name>: writes a new migration for SQLite and for
// PostgreSQL from the current prisma/schema.prisma.
import { createMigration } from '../db/create-migration.ts';

const name = process.argv[2];
if (!name || !/^[a-z0-9_-]+$/i.test(name)) {
  console.error('usage: npm run db:migration -- <name>   (letters, digits, _ and - only)');
  process.exit(2);
}
for (const provider of ['sqlite', 'postgres'] as const) {
  const folder = await createMigration(provider, name, process.env.MIGRATION_POSTGRES_URL);
  console.log(folder ? `${provider}: wrote ${folder}` : `${provider}: schema unchanged, no migration written`);
}
