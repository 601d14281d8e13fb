import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';

export type Provider = 'sqlite' | 'postgres';
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const PG_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Providers the data-layer suites run against; TEST_PROVIDERS=sqlite narrows it. */
export const PROVIDERS: Provider[] = (process.env.TEST_PROVIDERS ?? 'sqlite,postgres').split(',').map((p) => p.trim()) as Provider[];

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database: a file in a temp dir, or a new PostgreSQL database (a whole database, not a schema in a shared one, so each test starts as a fresh install does). */
export async function createTestDatabase(provider: Provider, dir: string): Promise<TestDatabase> {
  if (provider === 'sqlite') return { url: `file:${join(dir, 'keyrelay.db')}`, drop: async () => {} };
  const name = `keyrelay_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestGateway {
  gateway: Gateway;
  url: string;
  config: Config;
  dataDir: string;
  /** Every operational log line the gateway wrote (for secret checks). */
  logLines: string[];
  /** Stops the gateway; keeps the database unless `drop` (default true). */
  close(opts?: { drop?: boolean }): Promise<void>;
}

/** Starts a whole gateway on 127.0.0.1:0 over a temp database. */
export async function startTestGateway(opts: { provider?: Provider; env?: Record<string, string>; dataDir?: string; database?: TestDatabase } = {}): Promise<TestGateway> {
  const provider = opts.provider ?? 'sqlite';
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'keyrelay-test-'));
  const database = opts.database ?? (await createTestDatabase(provider, dataDir));
  // A gateway that refuses to start (bad config is tested) leaves nothing behind either.
  const discard = async () => {
    if (!opts.database) await database.drop();
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  let config: Config;
  let gateway: Gateway;
  const logLines: string[] = [];
  try {
    config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      KEYRELAY_DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      KEYRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
      KEYRELAY_JOBS: 'false',
      ...opts.env,
    });
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    gateway = await startGateway(config, createLogger(config.LOG_LEVEL, sink));
  } catch (error) {
    await discard();
    throw error;
  }
  return {
    gateway,
    url: gateway.url,
    config,
    dataDir,
    logLines,
    async close({ drop = true } = {}) {
      await gateway.close();
      if (drop) {
        await database.drop();
        if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
