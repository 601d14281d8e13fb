// npm run bench: keyrelay against a bare node:http + undici forwarder in front
// of the same mock upstream, each in its own process, driven by a load
// generator in another. With 2 or more cores the load generator runs on CPU 0
// and the subject and the mock on CPU 1 (taskset), and the subjects take turns
// under exactly the same pinning, round after round. The headline is keyrelay's
// CPU per request (its whole process: every thread, from /proc) over the bare
// forwarder's, the median of the rounds with its spread.
//
// Options: --rounds N (default 6) and --seconds N per run (default 5);
// --only headline,rate,sse; --with-h3 (adds the bare forwarder mounted in h3,
// pricing the mount); --no-limits (leaves out `keyrelay-limits`, keyrelay with
// a token limit and a limit on every key, generous enough never to refuse,
// measured beside plain keyrelay in the headline rounds to price the checks);
// --no-script (leaves out `keyrelay-script`, whose upstream signs every request
// with a header script); --scaling (the cost-as-work-grows table, see
// scaling.mjs; --scaling-only pools,rules,logs,bodies,sse,subscribers,queries
// runs only those rows, and --only none skips the headline parts); --cluster
// (cluster mode's CPU per request against PostgreSQL alone, and req/s of
// KEYRELAY_INSTANCES=1 and =2, see cluster.mjs); --soak (5 minutes at 1,000
// req/s sampling memory); --json (the human report goes to stderr, one JSON
// document to stdout).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LOAD_CPU, pin, pinning } from './pin.mjs';
import { cpuSeconds, mainThreadCpuSeconds, rssMiB } from './proc.mjs';
import { runScaling, SCALING_GROUPS } from './scaling.mjs';
import { runCluster } from './cluster.mjs';
import { forkServer, runLoad, startKeyrelay } from './setup.mjs';
import { fixed, ms, summary, withSpread } from './stats.mjs';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '5' },
    only: { type: 'string', default: 'headline,rate,sse' },
    'with-h3': { type: 'boolean', default: false },
    'no-limits': { type: 'boolean', default: false },
    'no-script': { type: 'boolean', default: false },
    scaling: { type: 'boolean', default: false },
    cluster: { type: 'boolean', default: false },
    'scaling-only': { type: 'string' },
    soak: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Math.max(1, Number(opts.rounds));
const seconds = Math.max(1, Number(opts.seconds));
const only = new Set(opts.only.split(','));
const out = opts.json ? (...a) => console.error(...a) : (...a) => console.log(...a);

// Targets of the benchmark issue (benchmark figures, never timed tests).
const TARGETS = { cpuRatio: 1.1, addedP50Us: 200, addedP99Us: 1000, sseTtfbUs: 500 };

/** keyrelay set up with one more feature, run in the headline's rounds beside plain keyrelay to price that feature. */
const VARIANTS = {
  'keyrelay-limits': 'with a token rate limit and a limit on every key (target: within 3%)',
  'keyrelay-script': 'with a header script signing each request (target: at most 30 µs more)',
};

const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
pin(process.pid, LOAD_CPU);

const PATH = '/proxy/bench/v1/chat/completions';
const BODY = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hello' }] });
const load = (spec) => runLoad(spec, children);

/** One JSON run against a subject, with its CPU per request (whole process and main thread). */
export async function measuredRun(subject, spec) {
  const cpu0 = cpuSeconds(subject.pid);
  const main0 = mainThreadCpuSeconds(subject.pid);
  const r = await load({ origin: subject.origin, path: PATH, method: 'POST', body: BODY, connections: 50, seconds, ...spec, headers: { ...subject.headers, ...spec.headers } });
  r.cpuPerRequestUs = ((cpuSeconds(subject.pid) - cpu0) / Math.max(1, r.requests)) * 1e6;
  r.mainThreadCpuPerRequestUs = ((mainThreadCpuSeconds(subject.pid) - main0) / Math.max(1, r.requests)) * 1e6;
  return r;
}

const runLine = (r) =>
  `${r.rps.toFixed(0).padStart(6)} req/s  p50 ${ms(r.p50)}  p99 ${ms(r.p99)}  cpu/req ${r.cpuPerRequestUs.toFixed(1)} µs (main thread ${r.mainThreadCpuPerRequestUs.toFixed(1)})  errors ${r.errors}  statuses ${JSON.stringify(r.statuses)}`;

/** Every subject in every round, in an order rotated per round; results by subject name, in round order. */
async function inRounds(subjects, measure, describe) {
  const names = Object.keys(subjects);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names.map((_, i) => names[(i + round) % names.length])) {
      const r = await measure(subjects[name]);
      runs[name][round] = r;
      out(`${String(round + 1).padStart(2)} ${name.padEnd(9)} ${describe(r)}`);
    }
  }
  return runs;
}

const perRound = (runs, a, b, f) => summary(runs[a].map((r, i) => f(r, runs[b][i])));
const verdict = (ok) => (ok ? 'met' : 'NOT met');

async function headline(subjects) {
  out(`## Closed loop, 50 connections, ${seconds} s a run, ${rounds} rounds`);
  const runs = await inRounds(subjects, (s) => measuredRun(s, { mode: 'closed' }), runLine);
  const cpuRatio = perRound(runs, 'keyrelay', 'bare', (k, b) => k.cpuPerRequestUs / b.cpuPerRequestUs);
  const efficiency = perRound(runs, 'keyrelay', 'bare', (k, b) => b.cpuPerRequestUs / k.cpuPerRequestUs);
  const rpsRatio = perRound(runs, 'keyrelay', 'bare', (k, b) => k.rps / b.rps);
  const cpu = (n) => summary(runs[n].map((r) => r.cpuPerRequestUs));
  out(`\nHEADLINE keyrelay's CPU per request: ${withSpread(cpuRatio, (v) => `${v.toFixed(2)}x`)} the bare forwarder's (target <= ${TARGETS.cpuRatio}x: ${verdict(cpuRatio.median <= TARGETS.cpuRatio)})`);
  out(`  CPU efficiency (bare / keyrelay): ${withSpread(efficiency, (v) => `${(v * 100).toFixed(1)}%`)}`);
  out(`  req/s ratio: ${withSpread(rpsRatio, (v) => `${(v * 100).toFixed(1)}%`)}`);
  out(`  cpu/req medians: bare ${cpu('bare').median.toFixed(1)} µs, keyrelay ${cpu('keyrelay').median.toFixed(1)} µs${subjects['bare-h3'] ? `, bare-h3 ${cpu('bare-h3').median.toFixed(1)} µs` : ''}`);
  const variants = {};
  for (const [name, what] of Object.entries(VARIANTS)) {
    if (!runs[name]) continue;
    variants[name] = {
      ratio: perRound(runs, name, 'keyrelay', (v, k) => v.cpuPerRequestUs / k.cpuPerRequestUs - 1),
      addedUs: perRound(runs, name, 'keyrelay', (v, k) => v.cpuPerRequestUs - k.cpuPerRequestUs),
    };
    const signed = (f) => (v) => `${v >= 0 ? '+' : ''}${f(v)}`;
    out(`  ${what}: cpu/req ${cpu(name).median.toFixed(1)} µs, ${withSpread(variants[name].ratio, signed((v) => `${(v * 100).toFixed(1)}%`))}, ${withSpread(variants[name].addedUs, signed((v) => `${v.toFixed(1)} µs`))} against plain keyrelay`);
  }
  out('');
  return { cpuRatio, efficiency, rpsRatio, variants, cpuPerRequestUs: Object.fromEntries(Object.keys(runs).map((n) => [n, cpu(n)])), runs };
}

async function fixedRate(subjects) {
  out(`## Open loop, 1,000 req/s, ${seconds} s a run, ${rounds} rounds`);
  const runs = await inRounds(subjects, (s) => measuredRun(s, { mode: 'open', rate: 1000 }), runLine);
  const addedP50 = perRound(runs, 'keyrelay', 'bare', (k, b) => k.p50 - b.p50);
  const addedP99 = perRound(runs, 'keyrelay', 'bare', (k, b) => k.p99 - b.p99);
  out(`added p50: ${withSpread(addedP50, ms)} (target < 0.2 ms: ${verdict(addedP50.median < TARGETS.addedP50Us)})`);
  out(`added p99: ${withSpread(addedP99, ms)} (target within 1 ms of bare's p99: ${verdict(addedP99.median <= TARGETS.addedP99Us)})\n`);
  return { addedP50Us: addedP50, addedP99Us: addedP99, runs };
}

async function sse(subjects) {
  out(`## SSE, 200 streams of 20 events 10 ms apart, 20 at a time, ${rounds} rounds`);
  const measure = async (s) => {
    const cpu0 = cpuSeconds(s.pid);
    const r = await load({ mode: 'sse', origin: s.origin, path: '/proxy/bench/v1/sse?events=20&interval=10', headers: s.headers, streams: 200, concurrency: 20 });
    r.cpuPerStreamUs = ((cpuSeconds(s.pid) - cpu0) / 200) * 1e6;
    return r;
  };
  const line = (r) => `ttfb p50 ${ms(r.ttfbP50)} p99 ${ms(r.ttfbP99)}  chunks/stream ${r.chunksPerStream.toFixed(1)}  cpu/stream ${r.cpuPerStreamUs.toFixed(0)} µs  errors ${r.errors}`;
  const runs = await inRounds(subjects, measure, line);
  const ttfb = perRound(runs, 'keyrelay', 'bare', (k, b) => k.ttfbP50 - b.ttfbP50);
  out(`time to first byte p50 vs bare: ${withSpread(ttfb, ms)} (target within 0.5 ms: ${verdict(ttfb.median <= TARGETS.sseTtfbUs)})\n`);
  return { addedTtfbP50Us: ttfb, runs };
}

async function soak(subject) {
  out('## Soak: keyrelay at 1,000 req/s for 5 minutes, RSS every 30 s');
  const samples = [];
  const timer = setInterval(() => samples.push(rssMiB(subject.pid)), 30_000);
  const r = await load({ mode: 'open', origin: subject.origin, path: PATH, method: 'POST', headers: subject.headers, body: BODY, connections: 50, rate: 1000, seconds: 300 });
  clearInterval(timer);
  out(`requests ${r.requests} errors ${r.errors} p99 ${ms(r.p99)}  RSS MiB: ${samples.map(fixed(0)).join(' ')}\n`);
  return { ...r, rssMiB: samples };
}

async function main() {
  out(`keyrelay benchmark: Node ${process.version}, ${rounds} rounds of ${seconds} s; pinning: ${pinning.notice}`);
  const mock = await forkServer('./mock-upstream.mjs', [], children);
  const mockOrigin = `http://127.0.0.1:${mock.port}`;
  const json = { 'content-type': 'application/json' };
  const subjects = {};
  const bare = await forkServer('./bare-forwarder.mjs', [mockOrigin], children);
  subjects.bare = { origin: `http://127.0.0.1:${bare.port}`, pid: bare.pid, headers: json };
  if (opts['with-h3']) {
    const h3 = await forkServer('./h3-forwarder.mjs', [mockOrigin], children);
    subjects['bare-h3'] = { origin: `http://127.0.0.1:${h3.port}`, pid: h3.pid, headers: json };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'keyrelay-bench-'));
  const dataDirs = [dataDir];
  const kr = await startKeyrelay({ mockPort: mock.port, dataDir, onSpawn: (c) => children.push(c) });
  subjects.keyrelay = { origin: kr.url, pid: kr.child.pid, headers: { ...json, authorization: `Bearer ${kr.token}` }, token: kr.token, adminUrl: kr.url };
  const variants = {};
  for (const [name, setup] of [['keyrelay-limits', { limits: true }], ['keyrelay-script', { script: true }]]) {
    if (opts[`no-${name.slice('keyrelay-'.length)}`]) continue;
    const dir = mkdtempSync(join(tmpdir(), 'keyrelay-bench-'));
    dataDirs.push(dir);
    const v = await startKeyrelay({ mockPort: mock.port, dataDir: dir, ...setup, onSpawn: (c) => children.push(c) });
    variants[name] = { origin: v.url, pid: v.child.pid, headers: { ...json, authorization: `Bearer ${v.token}` }, child: v.child };
  }
  out('subjects: bare forwarder, keyrelay (SQLite, 10 keys, 1 rule, request logging on, npm start\'s Node flags)\n');

  for (const s of [...Object.values(subjects), ...Object.values(variants)]) await measuredRun(s, { mode: 'closed', seconds: 3 }); // JIT, keep-alive pools

  const results = { node: process.version, pinning, rounds, seconds, targets: TARGETS };
  if (only.has('headline')) results.headline = await headline({ ...subjects, ...variants });
  if (only.has('rate')) results.rate = await fixedRate(subjects);
  if (only.has('sse')) results.sse = await sse(subjects);
  if (opts.soak) results.soak = await soak(subjects.keyrelay);
  if (opts.cluster || only.has('cluster')) results.cluster = await runCluster({ out, load, rounds, seconds, mockPort: mock.port, children, measuredRun });
  if (opts.scaling) {
    const groups = opts['scaling-only']?.split(',').filter(Boolean) ?? SCALING_GROUPS;
    const unknown = groups.filter((g) => !SCALING_GROUPS.includes(g));
    if (unknown.length) throw new Error(`--scaling-only: unknown row group ${unknown.join(', ')} (known: ${SCALING_GROUPS.join(', ')})`);
    results.scaling = await runScaling({ out, load, rounds, seconds, mockPort: mock.port, subjects, children, measuredRun, groups });
  }

  for (const child of [kr.child, ...Object.values(variants).map((v) => v.child)]) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  if (opts.json) console.log(JSON.stringify(results, null, 2));
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
