import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.ts';
import { PrismaClient as PgPrismaClient } from '../generated/prisma-pg/client.ts';
import type { DatabaseTarget } from './database-url.ts';
import { applyMigrations } from './migrate.ts';
import { PG_POOL_OPTIONS } from './pg-commit.ts';
import { createPostgresDriver, createSqliteDriver, type SqlDriver } from './sql-driver.ts';
import { createWorkerSqlDriver } from './worker-sql-driver.ts';

export type { PrismaClient };

export interface Db {
  readonly target: DatabaseTarget;
  /** Both generated clients share one model API; the SQLite one's types stand for both. */
  readonly prisma: PrismaClient;
  readonly sql: SqlDriver;
  /**
   * For writes made while the proxy serves (key state): never blocks the event
   * loop. On SQLite a worker thread's own connection (a lock held by another
   * process waits there); on PostgreSQL the pool, which is asynchronous anyway.
   */
  readonly writer: SqlDriver;
  close(): Promise<void>;
}

const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * Applies pending migrations; returns the names applied. Run it before
 * openDatabase: on SQLite the schema engine takes the database for itself
 * (exclusive locking), so no other connection may be open meanwhile.
 */
export async function migrateDatabase(target: DatabaseTarget, log?: (message: string) => void): Promise<string[]> {
  if (target.provider === 'sqlite') {
    if (target.file !== ':memory:') mkdirSync(dirname(target.file), { recursive: true });
    return applyMigrations('sqlite', new PrismaBetterSqlite3({ url: target.file, timeout: SQLITE_BUSY_TIMEOUT_MS }, { timestampFormat: 'unixepoch-ms' }), log);
  }
  const pool = new pg.Pool({ connectionString: target.url, max: 2 });
  pool.on('error', () => {});
  try {
    return await applyMigrations('postgres', new PrismaPg(pool), log);
  } finally {
    await pool.end();
  }
}

export async function openDatabase(target: DatabaseTarget): Promise<Db> {
  return target.provider === 'sqlite' ? openSqlite(target) : openPostgres(target);
}

async function openSqlite(target: Extract<DatabaseTarget, { provider: 'sqlite' }>): Promise<Db> {
  if (target.file !== ':memory:') mkdirSync(dirname(target.file), { recursive: true });
  const options = { timestampFormat: 'unixepoch-ms' as const };
  const factory = new PrismaBetterSqlite3({ url: target.file, timeout: SQLITE_BUSY_TIMEOUT_MS }, options);
  // Capture the connection Prisma opens so raw batch writes share it: one
  // connection means one writer, and no lock waits between our own writers.
  let connection: Database.Database | null = null;
  const capturing: SqlMigrationAwareDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => {
      const adapter = await factory.connect();
      connection = (adapter as unknown as { client: Database.Database }).client;
      connection.pragma('journal_mode = WAL');
      connection.pragma('synchronous = NORMAL');
      connection.pragma('foreign_keys = ON');
      return adapter;
    },
    connectToShadowDb: () => factory.connectToShadowDb(),
  };
  const prisma = new PrismaClient({ adapter: capturing });
  await prisma.$connect();
  await prisma.$queryRawUnsafe('SELECT 1');
  if (!connection) throw new Error('the SQLite adapter did not expose its connection');
  const db: Database.Database = connection;
  const sql = createSqliteDriver(db);
  // An in-memory database exists only on its own connection.
  const worker = target.file === ':memory:' ? null : createWorkerSqlDriver(target.file, SQLITE_BUSY_TIMEOUT_MS);
  return {
    target,
    prisma,
    sql,
    writer: worker ?? sql,
    async close() {
      await worker?.close();
      await prisma.$disconnect();
    },
  };
}

async function openPostgres(target: Extract<DatabaseTarget, { provider: 'postgres' }>): Promise<Db> {
  const pool = new pg.Pool({ connectionString: target.url, max: 10, ...PG_POOL_OPTIONS });
  pool.on('error', () => {}); // an idle client's error must not kill the process; the next query reports it
  const prisma = new PgPrismaClient({ adapter: new PrismaPg(pool) }) as unknown as PrismaClient;
  await prisma.$connect();
  await prisma.$queryRawUnsafe('SELECT 1');
  const sql = createPostgresDriver(pool);
  return {
    target,
    prisma,
    sql,
    writer: sql,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
