// `node bench/profile.mjs [seconds] [keyrelay|bare-h3] [rate]` (after npm run build).
// Profiles keyrelay's main thread (or the bare forwarder mounted in h3, for comparison) under the benchmark's JSON load (closed
// loop, 50 connections) with node --cpu-prof, and prints where the time
// goes: self time by file and by function, and inclusive time of keyrelay's
// own functions, each as a share of the busy (non-idle) samples. Startup is
// left out: only samples taken during the measured run count. PROFILE_FILES=N
// lists N files by self time (default 30); PROFILE_THREAD=worker reads the
// request-log worker's profile; PROFILE_SUBSCRIBERS=N holds N live
// requestLogged subscribers (graphql-ws) during the run; PROFILE_SCRIPT=1 gives
// the upstream the README's signing header script (as npm run bench's scripted subject).
import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_ADMIN_TOKEN, runLoad, startKeyrelay } from './setup.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const seconds = Number(process.argv[2] ?? 8);
const subject = process.argv[3] ?? 'keyrelay';
/** Requests per second (open loop) instead of the closed loop: equal rates compare per-request costs fairly. */
const rate = process.argv[4] ? Number(process.argv[4]) : null;
const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

const load = (spec) => runLoad(spec, children);

const mock = fork(join(here, 'mock-upstream.mjs'));
children.push(mock);
const mockPort = await new Promise((resolve) => mock.once('message', (m) => resolve(m.port)));
const dataDir = mkdtempSync(join(tmpdir(), 'keyrelay-profile-'));
const profDir = join(dataDir, 'prof');
const profArgs = ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=200'];
let proc;
let spec;
if (subject === 'bare-h3') {
  proc = fork(join(here, 'h3-forwarder.mjs'), [`http://127.0.0.1:${mockPort}`], { execArgv: profArgs });
  const port = await new Promise((resolve) => proc.once('message', (m) => resolve(m.port)));
  spec = { origin: `http://127.0.0.1:${port}`, headers: { 'content-type': 'application/json' } };
} else {
  const script = process.env.PROFILE_SCRIPT === '1';
  const kr = await startKeyrelay({ mockPort, dataDir, nodeArgs: profArgs, script, onSpawn: (child) => (proc = child) });
  spec = { origin: kr.url, headers: { 'content-type': 'application/json', authorization: `Bearer ${kr.token}` } };
}
spec = {
  ...spec, mode: 'closed', path: '/proxy/bench/v1/chat/completions', method: 'POST', connections: 50,
  body: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hello' }] }),
};
await load({ ...spec, seconds: 3 });
const subscribers = Number(process.env.PROFILE_SUBSCRIBERS ?? 0);
if (subscribers > 0 && subject === 'keyrelay') {
  const child = fork(join(here, 'subscribers.mjs'));
  children.push(child);
  child.send({ url: spec.origin, token: BENCH_ADMIN_TOKEN, count: subscribers });
  await new Promise((resolve) => child.once('message', resolve));
}
const startedAt = Date.now();
const r = await load(rate === null ? { ...spec, seconds } : { ...spec, seconds, mode: 'open', rate });
const endedAt = Date.now();
// A clean exit writes the profile: keyrelay shuts down on SIGTERM, the forwarder when its IPC channel closes.
const exited = new Promise((resolve) => proc.once('exit', resolve));
if (subject === 'bare-h3') proc.disconnect();
else proc.kill('SIGTERM');
await exited;

// The main thread's profile is the largest file (the log worker writes its own).
const files = readdirSync(profDir).sort((a, b) => statSync(join(profDir, b)).size - statSync(join(profDir, a)).size);
// PROFILE_THREAD=worker reads the request-log worker's profile (the second largest) instead.
const file = files[process.env.PROFILE_THREAD === 'worker' ? 1 : 0];
const prof = JSON.parse(readFileSync(join(profDir, file), 'utf8'));
rmSync(dataDir, { recursive: true, force: true });

const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
// Sample timestamps are µs since an arbitrary origin; keep the last `seconds` before the profile's end minus the shutdown.
const shutdownUs = (Date.now() - endedAt) * 1000;
const windowEnd = prof.endTime - shutdownUs;
const windowStart = windowEnd - (endedAt - startedAt) * 1000;
const weight = new Map();
let t = prof.startTime;
let busy = 0;
let idle = 0;
prof.samples.forEach((id, i) => {
  t += prof.timeDeltas[i];
  const dt = prof.timeDeltas[i + 1] ?? 0;
  if (t < windowStart || t > windowEnd) return;
  const name = byId.get(id).callFrame.functionName;
  if (name === '(idle)') idle += dt;
  else busy += dt;
  weight.set(id, (weight.get(id) ?? 0) + dt);
});
const short = (url) => url.replace(`file://${root}/`, '').replace(/node_modules\/((@[^/]+\/)?[^/]+).*/, 'nm:$1');
const label = (cf) => `${cf.functionName || '(anon)'} ${short(cf.url)}:${cf.lineNumber + 1}`;
const pct = (v) => `${((v / busy) * 100).toFixed(1).padStart(5)}%`;
const top = (map, n, filter = () => true) => [...map].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, n);

const byFile = new Map();
const self = new Map();
const incl = new Map();
for (const [id, w] of weight) {
  const cf = byId.get(id).callFrame;
  if (cf.functionName === '(idle)') continue;
  const f = short(cf.url) || cf.functionName;
  byFile.set(f, (byFile.get(f) ?? 0) + w);
  self.set(label(cf), (self.get(label(cf)) ?? 0) + w);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const key = label(byId.get(cur).callFrame);
    if (seen.has(key)) continue;
    seen.add(key);
    incl.set(key, (incl.get(key) ?? 0) + w);
  }
}
const perReq = (busy / r.requests).toFixed(1);
console.log(`${r.rps.toFixed(0)} req/s; main thread busy ${((busy / (busy + idle)) * 100).toFixed(0)}% of the run, ${perReq} µs of samples per request (shares below are of the busy time)`);
console.log('\n--- self time by file');
for (const [k, v] of top(byFile, Number(process.env.PROFILE_FILES ?? 30))) console.log(pct(v), k);
console.log('\n--- self time by function');
for (const [k, v] of top(self, 40)) console.log(pct(v), k);
console.log("\n--- inclusive time of keyrelay's own functions (dist/)");
for (const [k, v] of top(incl, 40, (k) => k.includes('dist/'))) console.log(pct(v), k);
process.exit(0);
