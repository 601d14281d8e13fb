import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { withSchemaEngine } from './schema-engine.ts';
import type { Provider } from './sql-driver.ts';

// Resolves the same from src/db (tests) and dist/db (built): both sit two
// levels below the project root, where prisma/ lives.
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Each provider keeps Prisma's standard layout in its own folder, so `prisma migrate deploy` works too. */
export function migrationLayout(provider: Provider): { schemaFile: string; migrationsDir: string; lockContent: string } {
  const base = provider === 'sqlite' ? join(PROJECT_ROOT, 'prisma') : join(PROJECT_ROOT, 'prisma', 'postgres');
  return {
    schemaFile: join(base, 'schema.prisma'),
    migrationsDir: join(base, 'migrations'),
    lockContent: `provider = "${provider === 'sqlite' ? 'sqlite' : 'postgresql'}"\n`,
  };
}

export async function listMigrations(provider: Provider): Promise<Array<{ name: string; sql: string }>> {
  const { migrationsDir } = migrationLayout(provider);
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch(() => []);
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => ({ name, sql: await readFile(join(migrationsDir, name, 'migration.sql'), 'utf8') })),
  );
}

/** Applies what is missing, recording it in `_prisma_migrations` as `prisma migrate deploy` does. */
export async function applyMigrations(
  provider: Provider,
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  log: (message: string) => void = () => {},
): Promise<string[]> {
  const layout = migrationLayout(provider);
  const migrations = await listMigrations(provider);
  const schema = { path: layout.schemaFile, content: await readFile(layout.schemaFile, 'utf8') };
  // The engine does not dispose the connections it opens, and on SQLite one
  // it leaves open keeps the database locked: close them when it is done.
  const opened: Array<{ dispose(): Promise<void> }> = [];
  const tracking: SqlMigrationAwareDriverAdapterFactory = {
    provider: adapterFactory.provider,
    adapterName: adapterFactory.adapterName,
    connect: async () => {
      const adapter = await adapterFactory.connect();
      opened.push(adapter);
      return adapter;
    },
    connectToShadowDb: async () => {
      const adapter = await adapterFactory.connectToShadowDb();
      opened.push(adapter);
      return adapter;
    },
  };
  try {
    return await runApply(tracking, schema, layout, migrations, log);
  } finally {
    for (const adapter of opened) await adapter.dispose().catch(() => {});
  }
}

async function runApply(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  schema: { path: string; content: string },
  layout: ReturnType<typeof migrationLayout>,
  migrations: Array<{ name: string; sql: string }>,
  log: (message: string) => void,
): Promise<string[]> {
  return withSchemaEngine(adapterFactory, schema, async (engine) => {
    const result = await engine.applyMigrations({
      migrationsList: {
        baseDir: layout.migrationsDir,
        lockfile: { path: 'migration_lock.toml', content: layout.lockContent },
        migrationDirectories: migrations.map((m) => ({
          path: m.name,
          migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: m.sql } },
        })),
        shadowDbInitScript: '',
      },
      filters: { externalTables: [], externalEnums: [] },
    } as Parameters<typeof engine.applyMigrations>[0]);
    return result.appliedMigrationNames;
  }, log);
}
