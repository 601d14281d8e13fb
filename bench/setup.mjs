import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { LOAD_CPU, SUBJECT_CPU, pin } from './pin.mjs';

/** The Node flags `npm start` runs keyrelay with (package.json's start script): the benchmark runs it the same way. */
export const KEYRELAY_NODE_FLAGS = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  .scripts.start.split(/\s+/)
  .filter((arg) => arg.startsWith('--'));

export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const LOAD = fileURLToPath(new URL('./load.mjs', import.meta.url));

/** Runs one load (load.mjs's spec) in a process of its own, so the generator does not share keyrelay's event loop; its result. `children` collects the process for cleanup on exit. */
export function runLoad(spec, children) {
  const child = fork(LOAD);
  children.push(child);
  pin(child.pid, LOAD_CPU);
  child.send(spec);
  return new Promise((resolve) => child.once('message', resolve));
}

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts keyrelay as `npm start` runs it (plus `nodeArgs`) on a free port over
 * `dataDir`, waits until it is ready and configures it in front of the mock
 * upstream. `onSpawn` gets the child at once, so the caller can kill it even
 * if the setup fails. `env` overrides the benchmark's defaults (jobs off).
 * `pinned: false` leaves the child on the cores the caller has (see cluster.mjs).
 */
export async function startKeyrelay({ mockPort, dataDir, nodeArgs = [], env = {}, onSpawn, setup = true, limits = false, script = false, pinned = true }) {
  const port = await freePort();
  const child = spawn(process.execPath, [...KEYRELAY_NODE_FLAGS, ...nodeArgs, MAIN], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', KEYRELAY_DATA_DIR: dataDir, KEYRELAY_ADMIN_TOKEN: BENCH_ADMIN_TOKEN, LOG_LEVEL: 'warn', NODE_ENV: 'production', KEYRELAY_JOBS: 'false', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  onSpawn?.(child);
  if (pinned) pin(child.pid, SUBJECT_CPU);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url);
  if (pinned) pin(child.pid, SUBJECT_CPU); // again: threads started while booting (the log writer's worker) are pinned too
  // The mock at its root: a client path /proxy/bench/v1/... reaches it as /v1/..., as the bare forwarder sends it.
  const token = setup ? await setupKeyrelay(url, BENCH_ADMIN_TOKEN, `http://127.0.0.1:${mockPort}`, { limits, script }) : null;
  return { child, url, token };
}

const SCRIPTED = {
  headerScript: "const ts = String(Math.floor(request.now / 1000));\nreturn { 'x-timestamp': ts, 'x-signature': hmacSha256Hex(env.SIGNING_SECRET, request.method + request.path + ts + request.bodySha256) };",
  scriptSecrets: { SIGNING_SECRET: 'bench-signing-secret' },
};

// Configures a fresh keyrelay for the benchmark through its admin API:
// one upstream, 10 keys, one rule, a client token. Returns the token. With
// `limits`, the token and every key also get rate limits generous enough never
// to refuse, so a run measures what the checks cost. With `script`, the
// upstream signs each request with a header script (the README's example).
export async function setupKeyrelay(url, adminToken, baseUrl, { limits = false, script = false } = {}) {
  const gql = adminClient(url, adminToken);
  const { createUpstream } = await gql(
    'mutation($input: CreateUpstreamInput!) { createUpstream(input: $input) { id } }',
    { input: { name: 'bench', baseUrl, strategy: 'ROUND_ROBIN', auth: { type: 'BEARER' }, ...(script ? SCRIPTED : {}) } },
  );
  const { addKeys } = await gql('mutation($u: ID!, $keys: [NewKeyInput!]!) { addKeys(upstreamId: $u, keys: $keys) { id } }', {
    u: createUpstream.id,
    keys: Array.from({ length: 10 }, (_, i) => ({ value: `sk-bench-key-${String(i).padStart(4, '0')}-abcdefghijklmnop`, name: `k${i}` })),
  });
  await gql('mutation($input: CreateRuleInput!) { createRule(input: $input) { id } }', {
    input: { upstreamId: createUpstream.id, name: 'cool down on 429', condition: { status: { equals: 429 } }, actions: ['DISABLE_KEY'], disableForSeconds: 60 },
  });
  const { createAccessToken } = await gql('mutation { createAccessToken(input: { name: "bench" }) { token accessToken { id } } }');
  if (limits) {
    const limit = (input) => gql('mutation($input: CreateRateLimitInput!) { createRateLimit(input: $input) { id } }', { input });
    await limit({ scope: 'ACCESS_TOKEN', targetId: createAccessToken.accessToken.id, requests: 10_000_000, perSeconds: 1, concurrent: 100_000, tokensPerMinute: 2_000_000_000 });
    for (const key of addKeys) await limit({ scope: 'KEY', targetId: key.id, requests: 1_000_000, perSeconds: 1, concurrent: 10_000 });
  }
  return createAccessToken.token;
}

/** A function that runs one GraphQL operation against keyrelay's admin API and returns its data (throws on errors). */
export function adminClient(url, adminToken = BENCH_ADMIN_TOKEN) {
  return async (query, variables) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ query, variables }),
    });
    const json = await res.json();
    if (json.errors) throw new Error(`admin API: ${JSON.stringify(json.errors)}`);
    return json.data;
  };
}

/** Forks a bench server (mock, bare forwarder) pinned beside the subject; resolves with its port once it listens. */
export function forkServer(file, argv, children) {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), argv, { stdio: 'inherit' });
  children.push(child);
  pin(child.pid, SUBJECT_CPU);
  return new Promise((resolve) => child.once('message', (m) => resolve({ child, port: m.port, pid: child.pid })));
}

/** Resolves once a keyrelay started as a child process answers /readyz (10 s at most). */
export async function waitReady(url) {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`keyrelay at ${url} did not become ready`);
}
