// `node bench/hot-path.mjs [requests] [bare|h3|bare-h3]` (after npm run build): keyrelay's own
// JavaScript cost per proxied request, without sockets, kernel or load
// generator. The real proxy handler (token check, key pool, quota, rules,
// headers, usage scan, metrics, log entry) runs against real node:http
// IncomingMessage/ServerResponse objects on a discarding socket and a fake
// undici dispatcher that answers like the benchmark's mock upstream; 50
// requests are kept in flight. The log writer is the real one (its worker
// stores to a temporary SQLite database). Much steadier than a socket
// benchmark on a noisy machine, so it tells small changes apart; it prints
// µs of main-thread CPU time per request, the best and median of several rounds.
// `bare` runs the bare forwarder's per-request work in the same harness instead.
// `scripted` is keyrelay with the HMAC header script on the upstream:
// its difference from `keyrelay` is what a short script costs per request.
// `h3` and `bare-h3` mount either handler in keyrelay's h3 app, served by
// srvx's Node handler as in the gateway: the price of the mount alone.
// Compare best-of values across a few processes.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { serve } from 'crossws/server';
import { createApp } from '../dist/app.js';
import { createEventBus } from '../dist/events/bus.js';
import { QuotaGate } from '../dist/keys/quota.js';
import { UsageCounters } from '../dist/keys/usage-counters.js';
import { createLogger } from '../dist/logger.js';
import { LogWriter } from '../dist/logs/log-writer.js';
import { createRedactor } from '../dist/logs/redact.js';
import { createProxyMetrics } from '../dist/metrics/proxy-metrics.js';
import { KeyPool } from '../dist/state/key-pool.js';
import { RetryBudget } from '../dist/proxy/retry-budget.js';
import { RateLimits } from '../dist/ratelimit/rate-limits.js';
import { createProxyHandler } from '../dist/proxy/route.js';
import { compileRule } from '../dist/rules/evaluate.js';
import { createRuleRuntime } from '../dist/rules/runtime.js';
import { loadScriptEngine } from '../dist/scripts/engine.js';
import { applyKeyChange } from '../dist/state/apply-key-change.js';
import { createLogDatabase } from './log-database.mjs';

const total = Number(process.argv[2] ?? 200_000);
const inFlight = 50;
const rounds = 7;
const MODES = { keyrelay: 'keyrelay', bare: 'bare forwarder', h3: 'keyrelay in h3', 'bare-h3': 'bare forwarder in h3', scripted: 'keyrelay with a header script' };
const SIGNING_SCRIPT = `const ts = String(Math.floor(request.now / 1000));
return { 'x-timestamp': ts, 'x-signature': hmacSha256Hex(env.SIGNING_SECRET, request.method + request.path + ts + request.bodySha256) };`;
const mode = process.argv[3] ?? 'keyrelay';
if (!(mode in MODES)) throw new Error(`unknown mode ${mode}: one of ${Object.keys(MODES).join(', ')}`);

const { target, remove } = await createLogDatabase('hot-path', Array.from({ length: 10 }, (_, i) => `key${i}`));

const upstreamConfig = {
  id: 'up1', name: 'bench', baseUrl: 'http://127.0.0.1:9/v1', enabled: true, strategy: 'ROUND_ROBIN', authType: 'BEARER', authName: null,
  headers: {}, connectTimeoutMs: 10_000, timeoutMs: 60_000, bodyTimeoutMs: 120_000, deadlineMs: 300_000, maxRetries: 2, retryBaseMs: 100,
  retryMaxMs: 2000, retryOnStatus: [401, 403, 429, 500, 502, 503, 504], maxBufferedBodyBytes: 10 * 1024 * 1024, bodyLogging: 'OFF',
  bodyLogMaxBytes: 65536, allowAnonymous: false, maxEjectionPercent: 50, modelPath: null, waitForKeyMs: 0, injectStreamUsage: false,
  probe: null, quotaResetCron: null, quotaResetTimezone: null,
  headerScript: null, scriptCanReadKey: false,
};
const rule = compileRule({
  id: 'r1', upstreamId: 'up1', name: 'cool down on 429', condition: { status: { equals: 429 } }, actions: ['DISABLE_KEY'], threshold: 1,
  windowSeconds: 60, consecutive: false, cooldownSeconds: 0, disableMode: 'DURATION', disableForSeconds: 60, escalate: false,
  maxDisableSeconds: 3600, scope: 'KEY', priority: 0, enabled: true,
});
// No limits configured (the benchmark's keyrelay has none): the checks the proxy makes on every request still run.
const limits = new RateLimits(null);
const pool = new KeyPool('ROUND_ROBIN', Math.random, limits);
const keys = new Map();
for (let i = 0; i < 10; i++) {
  const key = { id: `key${i}`, upstreamId: 'up1', name: `k${i}`, secret: `sk-bench-key-${String(i).padStart(4, '0')}-abcdefghijklmnop`, fingerprint: 'f', status: 'ACTIVE', disabledUntil: null, statusReason: null, weight: 1, quotaLimit: null, used: 0, leaseLeft: null, quotaResetAt: null, modelCooldowns: new Map(), disableCount: 0 };
  keys.set(key.id, key);
  pool.upsert(key);
}
const script = mode === 'scripted'
  ? (await loadScriptEngine({ timeoutMs: 1000 })).compile(SIGNING_SCRIPT, { upstream: 'bench', secrets: { SIGNING_SECRET: 'whsec-bench-0123456789' }, canReadKey: false })
  : null;
const runtime = { config: upstreamConfig, keys, pool, rules: [rule], version: 1, script };
const token = 'krt_bench_0123456789abcdefghijklmnopqrstuvwxyz';
const tokenState = { id: 'tok1', name: 'bench', tokenHash: createHash('sha256').update(token).digest('hex'), upstreamIds: [], enabled: true };
const state = {
  upstreamsByName: new Map([['bench', runtime]]),
  upstreamsById: new Map([['up1', runtime]]),
  keys,
  limits,
  tokensByHash: new Map([[tokenState.tokenHash, tokenState]]),
  tokensById: new Map([['tok1', tokenState]]),
  apply(key, change) {
    applyKeyChange(this.upstreamsById, key, change);
  },
};

const responseBody = Buffer.from(JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the benchmark upstream.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 },
}));
// Answers like undici would, a tick later: the response head, one body chunk, the end.
const controller = { abort() {}, pause() {}, resume() {}, paused: false, aborted: false, reason: null };
const fakePool = {
  dispatch(_opts, handler) {
    setImmediate(() => {
      handler.onRequestStart(controller, {});
      handler.onResponseStart(controller, 200, { 'content-type': 'application/json', 'content-length': String(responseBody.length), date: 'Thu, 01 Jan 2026 00:00:00 GMT', connection: 'keep-alive', 'keep-alive': 'timeout=60' }, 'OK');
      handler.onResponseData(controller, Buffer.from(responseBody));
      handler.onResponseEnd(controller, {});
    });
    return true;
  },
};
const upstreamTarget = { version: 1, pool: fakePool, poolSignature: '', basePath: '/v1', stripQuery: ['key'], retryOn: new Set([401, 403, 429, 500, 502, 503, 504]) };
const targets = { get: () => upstreamTarget };

const log = createLogger('warn');
const events = createEventBus();
const usage = new UsageCounters();
const lifecycle = { transition: async () => {}, resetDisableCount: async () => {} };
const rules = createRuleRuntime({ lifecycle, state, events, log, quotaResetAt: () => null });
const logs = new LogWriter({ target, events, state, usage, log, flushMs: 50, queueMax: 10_000_000 });
logs.start();
const handler = createProxyHandler({
  state, targets, rules, quota: new QuotaGate({ state, lifecycle, usage, log }), usage, logs,
  metrics: createProxyMetrics(new Registry(), { state, logQueue: () => ({ depth: logs.depth, dropped: logs.dropped }) }),
  budget: new RetryBudget(), redactor: createRedactor(), log, maxRequestBodyBytes: 10 * 1024 * 1024, trustProxy: false,
});

const requestBody = Buffer.from(JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hello' }] }));
const rawHeaders = ['host', '127.0.0.1:8080', 'connection', 'keep-alive', 'content-type', 'application/json', 'authorization', `Bearer ${token}`, 'content-length', String(requestBody.length)];
const sink = () => {
  const socket = new Writable({ write: (_c, _e, cb) => cb(), writev: (_c, cb) => cb() });
  socket.remoteAddress = '127.0.0.1';
  socket.readable = false;
  socket.setTimeout = () => socket;
  return socket;
};

// The floor in the same harness: what bench/bare-forwarder.mjs does per request (copy headers, dispatch, stream back).
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'upgrade', 'te', 'trailer', 'proxy-connection', 'expect']);
function bareHandler(req, res) {
  return new Promise((resolve) => {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
    headers.authorization = 'Bearer sk-bench-key';
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      fakePool.dispatch({ path: req.url.replace(/^\/proxy\/[^/]+/, ''), method: req.method, headers, body: Buffer.concat(chunks) }, {
        onRequestStart() {},
        onResponseStart(_c, status, h) {
          const out = {};
          for (const [k, v] of Object.entries(h)) if (!HOP.has(k)) out[k] = v;
          res.writeHead(status, out);
        },
        onResponseData(_c, chunk) {
          res.write(chunk);
        },
        onResponseEnd() {
          res.end();
          resolve();
        },
      });
    });
  });
}
const direct = mode === 'bare' || mode === 'bare-h3' ? bareHandler : handler;
const subject = mode === 'h3' || mode === 'bare-h3' ? mountedInH3(direct) : direct;

/** The handler behind keyrelay's h3 app and srvx's Node request listener (what the gateway's server runs per request). */
function mountedInH3(inner) {
  const app = createApp({
    yoga: { fetch: () => new Response(null, { status: 404 }) }, wsHooks: {}, proxy: inner, graphqlMaxBodyBytes: 1024 * 1024,
    readiness: async () => ({ ready: true, checks: {} }),
  });
  const listener = serve({ fetch: app.fetch, manual: true, silent: true, gracefulShutdown: false }).node.handler;
  return (req, res) => new Promise((resolve) => {
    res.once('finish', resolve);
    listener(req, res);
  });
}

function oneRequest(socket) {
  const req = new IncomingMessage(socket);
  req.method = 'POST';
  req.url = '/proxy/bench/v1/chat/completions';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req._addHeaderLines(rawHeaders, rawHeaders.length);
  const res = new ServerResponse(req);
  res.assignSocket(socket);
  const done = subject(req, res);
  // As the HTTP parser does: the body right after the head, in the same tick.
  req.push(requestBody);
  req.complete = true;
  req.push(null);
  return done.then(() => {
    if (res.statusCode !== 200) throw new Error(`the proxy answered ${res.statusCode}`);
    res.detachSocket(socket);
  });
}

async function run(n) {
  let started = 0;
  const worker = async () => {
    const socket = sink();
    while (started < n) {
      started++;
      await oneRequest(socket);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/** CPU time of this process's main thread (µs), from /proc on Linux (steadier than wall time on a busy machine); wall time elsewhere. */
function mainThreadMicros() {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return performance.now() * 1000;
  }
}

await run(20_000); // warm-up: JIT
const results = [];
for (let r = 0; r < rounds; r++) {
  const t0 = mainThreadMicros();
  await run(total);
  results.push((mainThreadMicros() - t0) / total);
  while (logs.depth > 0) await logs.flush();
}
// HOT_PATH_ROUNDS=1 prints every round: a process sometimes settles into a slower state (JIT, GC) and stays there.
if (process.env.HOT_PATH_ROUNDS) console.log(results.map((r) => r.toFixed(1)).join(' '));
results.sort((a, b) => a - b);
console.log(`${MODES[mode]} hot path: ${results[0].toFixed(2)} µs/request best, ${results[Math.floor(rounds / 2)].toFixed(2)} median (${rounds} rounds of ${total} requests, ${inFlight} in flight; main-thread CPU time, the log worker runs beside it)`);
await logs.close();
remove();
process.exit(0);
