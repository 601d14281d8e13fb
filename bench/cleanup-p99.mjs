// node bench/cleanup-p99.mjs [--rows 200000] [--rate 500] [--warmup 3] [--baseline 5]
// The proxy's latency while log-cleanup deletes old rows: keyrelay (dist/,
// SQLite) in front of the bench mock upstream, <rows> request-log rows 40
// days old seeded straight into its database, then an open-loop load at
// <rate> req/s: <warmup> seconds not counted (connections, JIT), <baseline>
// seconds alone, then while log-cleanup runs
// (started through runJob). Prints p50/p99 for both windows and the job's
// counts. Needs `npm run build` first. The load runs in its own process, as
// in bench/run.mjs, and records each request's start time, so the "during"
// window is exactly the job's startedAt..finishedAt.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { BENCH_ADMIN_TOKEN as ADMIN, startKeyrelay } from './setup.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const PATH = '/proxy/bench/v1/chat/completions';
const BODY = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hello' }] });

if (process.argv[2] === '--load-child') runLoadChild();
else main().catch((error) => {
  console.error(error);
  process.exit(1);
});

// ---- the load process: open loop until told to stop; [startedAtMs, latencyMs, ok] per request
function runLoadChild() {
  process.once('message', ({ origin, token, rate }) => {
    const pool = new Pool(origin, { connections: 64, pipelining: 1 });
    const samples = [];
    const t0 = performance.now();
    let sent = 0;
    let stopping = false;
    const fire = () => {
      const began = performance.now();
      const at = Date.now();
      pool
        .request({ path: PATH, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: BODY })
        .then(async (res) => {
          await res.body.dump();
          samples.push([at, performance.now() - began, res.statusCode === 200]);
        })
        .catch(() => samples.push([at, performance.now() - began, false]));
    };
    const tick = () => {
      if (stopping) return;
      const due = Math.floor(((performance.now() - t0) / 1000) * rate);
      while (sent < due) {
        sent++;
        fire();
      }
      setTimeout(tick, 1);
    };
    tick();
    process.once('message', async () => {
      stopping = true;
      await new Promise((r) => setTimeout(r, 500)); // let the last answers arrive
      await pool.close();
      process.send(samples, () => process.exit(0));
    });
  });
}

// ---- the orchestrator
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

async function gql(url, query, variables) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify({ query, variables }),
  });
  const json = await res.json();
  if (json.errors) throw new Error(JSON.stringify(json.errors));
  return json.data;
}

function seed(file, rows) {
  const db = new Database(file, { timeout: 10_000 });
  const insert = db.prepare('INSERT INTO "RequestLog" ("createdAt", "requestId", "method", "path", "status", "outcome", "latencyMs") VALUES (?, ?, ?, ?, ?, ?, ?)');
  const old = Date.now() - 40 * 86_400_000;
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(old + i, `seed-${i}`, 'POST', '/v1/chat/completions', 200, 'ok', 12);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

function summary(samples) {
  const lat = samples.map((s) => s[1]).sort((a, b) => a - b);
  const at = (q) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] : 0);
  const failed = samples.filter((s) => !s[2]).length;
  return `${String(samples.length).padStart(6)} requests  p50 ${at(0.5).toFixed(2)} ms  p99 ${at(0.99).toFixed(2)} ms  max ${at(1).toFixed(2)} ms  errors ${failed}`;
}

async function main() {
  const rows = arg('rows', 200_000);
  const rate = arg('rate', 500);
  const warmupSeconds = arg('warmup', 3);
  const baselineSeconds = arg('baseline', 5);
  const children = [];
  process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

  const mock = fork(join(here, 'mock-upstream.mjs'), [], { stdio: 'inherit' });
  children.push(mock);
  const mockPort = await new Promise((resolve) => mock.once('message', (m) => resolve(m.port)));

  const dataDir = mkdtempSync(join(tmpdir(), 'keyrelay-bench-cleanup-'));
  const { child: kr, url, token } = await startKeyrelay({ mockPort, dataDir, env: { KEYRELAY_JOBS: 'true', DATABASE_URL: '' }, onSpawn: (child) => children.push(child) });
  const seedStart = Date.now();
  seed(join(dataDir, 'keyrelay.db'), rows);
  console.log(`log-cleanup under proxy load: SQLite, ${rows.toLocaleString('en')} request-log rows 40 days old (seeded in ${Date.now() - seedStart} ms), open loop ${rate} req/s, Node ${process.version}\n`);

  const load = fork(fileURLToPath(import.meta.url), ['--load-child']);
  children.push(load);
  load.send({ origin: url, token, rate });
  await new Promise((r) => setTimeout(r, warmupSeconds * 1000));
  const baselineFrom = Date.now();
  await new Promise((r) => setTimeout(r, baselineSeconds * 1000));

  const { runJob } = await gql(url, 'mutation($n: String!) { runJob(name: $n) { id } }', { n: 'log-cleanup' });
  let run;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    [run] = (await gql(url, 'query { jobRuns(name: "log-cleanup", first: 1) { id status startedAt finishedAt counts error } }')).jobRuns;
    if (run.id === runJob.id && run.status !== 'RUNNING') break;
  }
  await new Promise((r) => setTimeout(r, 1000)); // a second after, to see the tail settle
  const samples = await new Promise((resolve) => {
    load.once('message', resolve);
    load.send('stop');
  });

  const started = Date.parse(run.startedAt);
  const finished = Date.parse(run.finishedAt);
  const before = samples.filter((s) => s[0] >= baselineFrom && s[0] < started);
  const during = samples.filter((s) => s[0] >= started && s[0] <= finished);
  console.log(`baseline (${baselineSeconds} s)         ${summary(before)}`);
  console.log(`during cleanup (${((finished - started) / 1000).toFixed(1)} s)  ${summary(during)}`);
  console.log(`\nlog-cleanup ${run.status}${run.error ? ` (${run.error})` : ''}: ${JSON.stringify(run.counts)}`);

  kr.kill('SIGTERM');
  await new Promise((r) => kr.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}
