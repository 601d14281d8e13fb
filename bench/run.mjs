// npm run bench: one run compares keyrelay with a bare undici forwarder in
// front of the same mock upstream. Each runs in its own process; the load
// generator too. Prints req/s, latency p50/p99, SSE time to first byte and
// keyrelay's CPU per request. Options: --seconds N (default 10), --soak
// (adds a 5-minute run at 1,000 req/s sampling memory), --only json,rate,sse.
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEYRELAY_NODE_FLAGS, setupKeyrelay, waitReady } from './setup.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const seconds = Number(arg('seconds', 10));
const only = new Set(arg('only', 'json,rate,sse').split(','));
const soak = args.includes('--soak');

const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function forkReady(file, argv = []) {
  const child = fork(join(here, file), argv, { stdio: 'inherit' });
  children.push(child);
  return new Promise((resolve) => child.once('message', (m) => resolve({ child, port: m.port })));
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
/** CPU seconds of the process's main (JavaScript) thread alone: the proxy's bottleneck, apart from its worker threads and libuv's pool. */
function mainThreadCpuSeconds(pid) {
  return cpuSeconds(`${pid}/task/${pid}`);
}
function rssMiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line.replace(/\D+/g, '')) / 1024;
}

function load(spec) {
  const child = fork(join(here, 'load.mjs'));
  children.push(child);
  child.send(spec);
  return new Promise((resolve) => child.once('message', resolve));
}

async function startKeyrelay(mockPort) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'keyrelay-bench-'));
  const child = spawn(process.execPath, [...KEYRELAY_NODE_FLAGS, join(root, 'dist', 'main.js')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', KEYRELAY_DATA_DIR: dataDir, KEYRELAY_ADMIN_TOKEN: 'bench-admin-token-0123456789', LOG_LEVEL: 'warn', NODE_ENV: 'production', KEYRELAY_JOBS: 'false' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url);
  const token = await setupKeyrelay(url, 'bench-admin-token-0123456789', `http://127.0.0.1:${mockPort}/v1`);
  return { child, url, token, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

const us = (v) => `${(v / 1000).toFixed(3)} ms`;
const body = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hello' }] });

async function main() {
  const mock = await forkReady('mock-upstream.mjs');
  const bare = await forkReady('bare-forwarder.mjs', [`http://127.0.0.1:${mock.port}`]);
  const h3bare = await forkReady('h3-forwarder.mjs', [`http://127.0.0.1:${mock.port}`]);
  const kr = await startKeyrelay(mock.port);
  const targets = {
    bare: { origin: `http://127.0.0.1:${bare.port}`, pid: bare.child.pid, headers: { 'content-type': 'application/json' } },
    'bare-h3': { origin: `http://127.0.0.1:${h3bare.port}`, pid: h3bare.child.pid, headers: { 'content-type': 'application/json' } },
    keyrelay: { origin: kr.url, pid: kr.child.pid, headers: { 'content-type': 'application/json', authorization: `Bearer ${kr.token}` } },
  };
  const path = '/proxy/bench/v1/chat/completions';
  const results = {};
  console.log(`keyrelay benchmark: ${seconds} s per run, Node ${process.version}, mock upstream + bare undici forwarder + keyrelay (SQLite, 10 keys, 1 rule, request logging on)\n`);

  for (const name of Object.keys(targets)) {
    // warm-up: JIT, keep-alive connections, pools
    await load({ mode: 'closed', origin: targets[name].origin, path, method: 'POST', headers: targets[name].headers, body, connections: 50, seconds: 3 });
  }

  if (only.has('json')) {
    console.log('## JSON, closed loop, 50 connections');
    for (const [name, t] of Object.entries(targets)) {
      const cpu0 = cpuSeconds(t.pid);
      const main0 = mainThreadCpuSeconds(t.pid);
      const r = await load({ mode: 'closed', origin: t.origin, path, method: 'POST', headers: t.headers, body, connections: 50, seconds });
      r.cpuPerRequestUs = ((cpuSeconds(t.pid) - cpu0) / r.requests) * 1e6;
      r.mainThreadCpuPerRequestUs = ((mainThreadCpuSeconds(t.pid) - main0) / r.requests) * 1e6;
      results[`json-${name}`] = r;
      console.log(`${name.padEnd(10)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${us(r.p50)}  p99 ${us(r.p99)}  cpu/req ${r.cpuPerRequestUs.toFixed(0)} µs  errors ${r.errors}  statuses ${JSON.stringify(r.statuses)}`);
    }
    const pct = (a, b) => `${((results[`json-${a}`].rps / results[`json-${b}`].rps) * 100).toFixed(1)}%`;
    console.log(`keyrelay: ${pct('keyrelay', 'bare')} of the bare forwarder's req/s (the same forwarder in h3: ${pct('bare-h3', 'bare')}; keyrelay vs it: ${pct('keyrelay', 'bare-h3')})`);
    const mainUs = (n) => results[`json-${n}`].mainThreadCpuPerRequestUs.toFixed(0);
    console.log(`main-thread cpu/req: bare ${mainUs('bare')} µs, bare-h3 ${mainUs('bare-h3')} µs, keyrelay ${mainUs('keyrelay')} µs (keyrelay's request-log worker runs beside it)\n`);
  }

  if (only.has('rate')) {
    console.log('## JSON, open loop, 1,000 req/s');
    for (const [name, t] of Object.entries(targets)) {
      const cpu0 = cpuSeconds(t.pid);
      const r = await load({ mode: 'open', origin: t.origin, path, method: 'POST', headers: t.headers, body, connections: 50, rate: 1000, seconds });
      r.cpuPerRequestUs = ((cpuSeconds(t.pid) - cpu0) / r.requests) * 1e6;
      results[`rate-${name}`] = r;
      console.log(`${name.padEnd(10)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${us(r.p50)}  p99 ${us(r.p99)}  cpu/req ${r.cpuPerRequestUs.toFixed(0)} µs  errors ${r.errors}`);
    }
    const a = results['rate-keyrelay'];
    const b = results['rate-bare'];
    console.log(`added latency: p50 ${us(a.p50 - b.p50)}  p99 ${us(a.p99 - b.p99)}\n`);
  }

  if (only.has('sse')) {
    console.log('## SSE, 200 streams of 20 events 10 ms apart, 20 at a time');
    for (const [name, t] of Object.entries(targets)) {
      const r = await load({ mode: 'sse', origin: t.origin, path: '/proxy/bench/v1/sse?events=20&interval=10', headers: t.headers, streams: 200, concurrency: 20 });
      results[`sse-${name}`] = r;
      console.log(`${name.padEnd(10)} ttfb p50 ${us(r.ttfbP50)} p99 ${us(r.ttfbP99)}  total p50 ${us(r.totalP50)} p99 ${us(r.totalP99)}  chunks/stream ${r.chunksPerStream.toFixed(1)}  errors ${r.errors}`);
    }
    console.log(`ttfb difference p50: ${us(results['sse-keyrelay'].ttfbP50 - results['sse-bare'].ttfbP50)}\n`);
  }

  if (soak) {
    console.log('## Soak: keyrelay at 1,000 req/s for 5 minutes, RSS every 30 s');
    const t = targets.keyrelay;
    const samples = [];
    const timer = setInterval(() => samples.push(rssMiB(t.pid)), 30_000);
    const r = await load({ mode: 'open', origin: t.origin, path, method: 'POST', headers: t.headers, body, connections: 50, rate: 1000, seconds: 300 });
    clearInterval(timer);
    results.soak = { ...r, rssMiB: samples };
    console.log(`requests ${r.requests} errors ${r.errors} p99 ${us(r.p99)}  RSS MiB: ${samples.map((s) => s.toFixed(0)).join(' ')}\n`);
  }

  console.log('JSON:', JSON.stringify(results));
  kr.child.kill('SIGTERM');
  await new Promise((r) => kr.child.once('exit', r));
  kr.cleanup();
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
