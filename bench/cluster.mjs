// npm run bench -- --cluster: what cluster mode costs and what a second
// instance brings (issue #18). Needs the machine's PostgreSQL and Redis
// (BENCH_POSTGRES_URL, BENCH_REDIS_URL); each subject gets a fresh database.
//
// 1. CPU per request of keyrelay on PostgreSQL alone and of keyrelay in
//    cluster mode (PostgreSQL + Redis, one instance), pinned like the
//    headline, in alternating rounds: the ratio's median (target: within 15%).
// 2. req/s of KEYRELAY_INSTANCES=1 and =2 (both cluster mode), not pinned:
//    the instances must be free to use every core. On a machine with fewer
//    cores than instances + the load generator the second instance has little
//    to gain; the output says how many cores there were.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { LOAD_CPU, pin, pinning } from './pin.mjs';
import { cpuSeconds } from './proc.mjs';
import { startKeyrelay } from './setup.mjs';
import { summary, withSpread } from './stats.mjs';

const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'bench-cluster-master-secret-0123456789';
const TARGET_CPU_RATIO = 1.15;
const PATH = '/proxy/bench/v1/chat/completions';
const BODY = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hello' }] });

async function createDatabase() {
  const name = `keyrelay_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** The process and every process it started (KEYRELAY_INSTANCES' workers). */
function processTree(pid) {
  let children = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {}
  return [pid, ...children.flatMap(processTree)];
}

const treeCpuSeconds = (pid) => processTree(pid).reduce((sum, p) => sum + cpuSeconds(p), 0);

/** Lets every thread of `pid` run on any core. */
function unpin(pid) {
  if (pinning.enabled) execFileSync('taskset', ['-a', '-p', '-c', `0-${cpus().length - 1}`, String(pid)], { stdio: 'ignore' });
}

export async function runCluster(ctx) {
  const { out, rounds, seconds, mockPort, children, measuredRun, load } = ctx;
  const cleanup = [];
  const start = async (env, pinned = true) => {
    const database = await createDatabase();
    cleanup.push(() => database.drop());
    const dataDir = mkdtempSync(join(tmpdir(), 'keyrelay-bench-cluster-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // Unpinned: spawned while this process may use every core, so the child (and the cores KEYRELAY_INSTANCES counts) may too.
    if (!pinned) unpin(process.pid);
    const kr = await startKeyrelay({ mockPort, dataDir, pinned, env: { DATABASE_URL: database.url, KEYRELAY_SECRET: SECRET, ...env }, onSpawn: (c) => children.push(c) }).finally(() => {
      if (!pinned) pin(process.pid, LOAD_CPU);
    });
    cleanup.push(async () => {
      kr.child.kill('SIGTERM');
      await new Promise((r) => kr.child.once('exit', r));
    });
    return { origin: kr.url, pid: kr.child.pid, headers: { 'content-type': 'application/json', authorization: `Bearer ${kr.token}` } };
  };
  try {
    out(`## Cluster mode: CPU per request, one instance, closed loop, ${seconds} s a run, ${rounds} rounds`);
    const subjects = { 'keyrelay-pg': await start({}), 'keyrelay-cluster': await start({ KEYRELAY_REDIS_URL: REDIS_URL }) };
    for (const s of Object.values(subjects)) await measuredRun(s, { mode: 'closed', seconds: 3 }); // JIT, keep-alive pools
    const runs = { 'keyrelay-pg': [], 'keyrelay-cluster': [] };
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 ? ['keyrelay-cluster', 'keyrelay-pg'] : ['keyrelay-pg', 'keyrelay-cluster']) {
        const r = await measuredRun(subjects[name], { mode: 'closed' });
        runs[name][round] = r;
        out(`${String(round + 1).padStart(2)} ${name.padEnd(17)} ${r.rps.toFixed(0).padStart(6)} req/s  cpu/req ${r.cpuPerRequestUs.toFixed(1)} µs  errors ${r.errors}  statuses ${JSON.stringify(r.statuses)}`);
      }
    }
    const ratio = summary(runs['keyrelay-cluster'].map((c, i) => c.cpuPerRequestUs / runs['keyrelay-pg'][i].cpuPerRequestUs));
    out(`cluster mode's CPU per request: ${withSpread(ratio, (v) => `${v.toFixed(3)}x`)} PostgreSQL alone's (target <= ${TARGET_CPU_RATIO}x: ${ratio.median <= TARGET_CPU_RATIO ? 'met' : 'NOT met'})\n`);

    out(`## KEYRELAY_INSTANCES=1 and =2 (cluster mode, not pinned, ${cpus().length} cores shared with the load generator and the mock), closed loop, ${seconds} s a run, ${rounds} rounds`);
    const instances = { 'instances-1': await start({ KEYRELAY_REDIS_URL: REDIS_URL, KEYRELAY_INSTANCES: '1' }, false), 'instances-2': await start({ KEYRELAY_REDIS_URL: REDIS_URL, KEYRELAY_INSTANCES: '2' }, false) };
    // The second instance starts once the first serves.
    for (let i = 0; i < 100 && processTree(instances['instances-2'].pid).length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    out(`instances-2 runs ${processTree(instances['instances-2'].pid).length - 1} worker processes`);
    const measure = async (s, spec) => {
      const cpu0 = treeCpuSeconds(s.pid);
      const r = await load({ origin: s.origin, path: PATH, method: 'POST', body: BODY, connections: 50, seconds, headers: s.headers, ...spec });
      r.cpuPerRequestUs = ((treeCpuSeconds(s.pid) - cpu0) / Math.max(1, r.requests)) * 1e6;
      return r;
    };
    for (const s of Object.values(instances)) await measure(s, { mode: 'closed', seconds: 3 });
    const rps = { 'instances-1': [], 'instances-2': [] };
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 ? ['instances-2', 'instances-1'] : ['instances-1', 'instances-2']) {
        const r = await measure(instances[name], { mode: 'closed' });
        rps[name].push(r.rps);
        out(`${String(round + 1).padStart(2)} ${name.padEnd(17)} ${r.rps.toFixed(0).padStart(6)} req/s  cpu/req ${r.cpuPerRequestUs.toFixed(1)} µs (all processes)  errors ${r.errors}`);
      }
    }
    const one = summary(rps['instances-1']);
    const two = summary(rps['instances-2']);
    out(`req/s: 1 instance ${one.median.toFixed(0)}, 2 instances ${two.median.toFixed(0)} (${((two.median / one.median) * 100).toFixed(0)}%)\n`);
    return { cpuRatio: ratio, runs, rps: { one, two }, cores: cpus().length };
  } finally {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch {}
    }
  }
}
