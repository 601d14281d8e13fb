// npm run bench:header-script: CPU per header-script run, in process, as the
// proxy pays it (the packed request in, sandbox call, headers checked on the
// way out), measured with process.cpuUsage over many runs after a warm-up. The
// baseline is the per-request work keyrelay adds for a scripted upstream
// beyond building the request JSON once. Options: --runs N (default 50000).
import { loadScriptEngine } from '../dist/scripts/engine.js';
import { scriptRequestBase, scriptRequestJson } from '../dist/scripts/script-request.js';
import { sha256Hex } from '../dist/crypto/tokens.js';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] || 50_000);

const SCRIPTS = {
  empty: 'return {};',
  timestamp: "return { 'x-timestamp': String(Math.floor(request.now / 1000)) };",
  'hmac signature (issue example)': `const ts = String(Math.floor(request.now / 1000));
return { 'x-timestamp': ts, 'x-signature': hmacSha256Hex(env.SIGNING_SECRET, request.method + request.path + ts + request.bodySha256) };`,
};

const engine = await loadScriptEngine({ timeoutMs: 1000 });
const body = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }));
const raw = ['host', 'localhost', 'content-type', 'application/json', 'user-agent', 'openai-node/4', 'accept', 'application/json', 'authorization', 'Bearer kr_x'];
const key = { name: 'key-1', fingerprint: 'sk-…abcd', secret: 'sk-test-0123456789' };

function cpuMicros(fn, n) {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(i);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`header scripts: CPU µs per run (median of 5 rounds of ${runs}), node ${process.version}`);
for (const [name, source] of Object.entries(SCRIPTS)) {
  const script = engine.compile(source, { upstream: 'bench', secrets: { SIGNING_SECRET: 'whsec-0123456789abcdef' }, canReadKey: false });
  // Per request: the fixed part of `request` (hashing the body included) once, then one run.
  const perRequest = (i) => {
    const base = scriptRequestBase({ method: 'POST', upstreamPath: '/v1/chat/completions', rawHeaders: raw, body, model: 'gpt-4o-mini', upstream: 'bench' });
    script.run(scriptRequestJson(base, key, 1, 1_700_000_000_000 + i, false), key.secret);
  };
  cpuMicros(perRequest, Math.min(runs, 20_000));
  const rounds = Array.from({ length: 5 }, () => cpuMicros(perRequest, runs));
  console.log(`  ${name.padEnd(32)} ${median(rounds).toFixed(1)} µs  (rounds ${rounds.map((r) => r.toFixed(1)).join(', ')})`);
  script.dispose();
}
const hashOnly = median(Array.from({ length: 5 }, () => cpuMicros(() => sha256Hex(body), runs)));
console.log(`  (of which hashing the ${body.length}-byte body: ${hashOnly.toFixed(1)} µs)`);
