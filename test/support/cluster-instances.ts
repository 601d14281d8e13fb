import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN, createTestDatabase, type TestDatabase } from './gateway.ts';
import { REDIS_URL } from './redis.ts';
import { spawnMain, type MainProcess } from './spawn-main.ts';

export const CLUSTER_SECRET = 'cluster-test-master-secret-0123456789';

export interface ClusterInstance {
  url: string;
  process: MainProcess;
  /** SIGKILL: no drain, no cleanup, as a crash. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

export interface TestCluster {
  database: TestDatabase;
  instances: ClusterInstance[];
  /** Starts one more instance on the same database and Redis (`env` overrides, e.g. a relayed KEYRELAY_REDIS_URL). */
  start(env?: Record<string, string>): Promise<ClusterInstance>;
  close(): Promise<void>;
}

/**
 * Cluster-mode instances as child processes of the built gateway
 * (`dist/main.js`, so build first), each with its own data directory, on one
 * fresh PostgreSQL database and the machine's Redis. Jobs are off unless
 * `env` turns them on.
 */
export async function startTestCluster(count: number, env: Record<string, string> = {}): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'keyrelay-cluster-'));
  const database = await createTestDatabase('postgres', dir);
  const instances: ClusterInstance[] = [];
  const start = async (extra: Record<string, string> = {}) => {
    const dataDir = mkdtempSync(join(dir, 'instance-'));
    const child = spawnMain({
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      KEYRELAY_REDIS_URL: REDIS_URL,
      KEYRELAY_SECRET: CLUSTER_SECRET,
      KEYRELAY_ADMIN_TOKEN: ADMIN_TOKEN,
      KEYRELAY_DATA_DIR: dataDir,
      KEYRELAY_JOBS: 'false',
      ...env,
      ...extra,
    });
    const url = await child.serving;
    const exited = () => child.child.exitCode !== null || child.child.signalCode !== null;
    const instance: ClusterInstance = {
      url,
      process: child,
      async kill() {
        if (!exited()) child.child.kill('SIGKILL');
        await child.exited;
      },
      async stop() {
        if (!exited()) child.child.kill('SIGTERM');
        await child.exited;
      },
    };
    instances.push(instance);
    return instance;
  };
  // One after the other: the first applies the migrations.
  for (let i = 0; i < count; i++) await start();
  return {
    database,
    instances,
    start,
    async close() {
      await Promise.all(instances.map((i) => i.stop()));
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
