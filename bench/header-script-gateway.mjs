// npm run bench:header-script-gateway: what a header script costs inside the
// gateway, split into its parts. Three keyrelay processes (the benchmark's
// setup, pinned like `npm run bench`) take turns under the same closed-loop
// load: one without a script, one whose upstream runs an empty script
// (`return {};`: the fixed price of entering the sandbox and coming back) and
// one running the README's signing script. Each round prints the CPU per
// request each script adds to the whole process against the one without, and
// the time spent inside the sandbox run itself as the gateway's own
// keyrelay_header_script_seconds_total counts it (wall time per run).
// In-process figures for the same scripts: npm run bench:header-script.
// Options: --rounds N (default 6), --seconds N per run (default 5), --empty
// SOURCE (another script in the empty script's place, to price a part).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LOAD_CPU, pin, pinning } from './pin.mjs';
import { cpuSeconds } from './proc.mjs';
import { adminClient, BENCH_ADMIN_TOKEN, forkServer, runLoad, startKeyrelay } from './setup.mjs';
import { summary, withSpread } from './stats.mjs';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '6' }, seconds: { type: 'string', default: '5' }, empty: { type: 'string', default: 'return {};' } } });
const rounds = Math.max(1, Number(opts.rounds));
const seconds = Math.max(1, Number(opts.seconds));
const children = [];
const dirs = [];
process.on('exit', () => {
  children.forEach((c) => c.kill('SIGKILL'));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});
pin(process.pid, LOAD_CPU);

const PATH = '/proxy/bench/v1/chat/completions';
const BODY = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hello' }] });

async function start(mockPort, script, headerScript) {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyrelay-bench-'));
  dirs.push(dataDir);
  const kr = await startKeyrelay({ mockPort, dataDir, script, onSpawn: (c) => children.push(c) });
  if (headerScript !== undefined) {
    const gql = adminClient(kr.url);
    const { upstreams } = await gql('{ upstreams { id } }');
    await gql('mutation($id: ID!, $input: UpdateUpstreamInput!) { updateUpstream(id: $id, input: $input) { id } }', { id: upstreams[0].id, input: { headerScript } });
  }
  return { origin: kr.url, pid: kr.child.pid, headers: { 'content-type': 'application/json', authorization: `Bearer ${kr.token}` } };
}

/** runs and seconds from /metrics (zero without a script). */
async function scriptCounters(subject) {
  const text = await (await fetch(`${subject.origin}/metrics`, { headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } })).text();
  const read = (name) => Number(text.match(new RegExp(`^${name}\\{[^}]*\\} (\\S+)`, 'm'))?.[1] ?? 0);
  return { runs: read('keyrelay_header_script_runs_total'), seconds: read('keyrelay_header_script_seconds_total') };
}

async function measure(subject, runSeconds) {
  const cpu0 = cpuSeconds(subject.pid);
  const s0 = await scriptCounters(subject);
  const r = await runLoad({ origin: subject.origin, path: PATH, method: 'POST', body: BODY, connections: 50, seconds: runSeconds, mode: 'closed', headers: subject.headers }, children);
  const s1 = await scriptCounters(subject);
  const runs = s1.runs - s0.runs;
  return { cpuUs: ((cpuSeconds(subject.pid) - cpu0) / Math.max(1, r.requests)) * 1e6, runUs: runs > 0 ? ((s1.seconds - s0.seconds) / runs) * 1e6 : 0, errors: r.errors };
}

console.log(`header scripts in the gateway: ${rounds} rounds of ${seconds} s, closed loop at 50 connections; pinning: ${pinning.notice}`);
const mock = await forkServer('./mock-upstream.mjs', [], children);
const subjects = {
  none: await start(mock.port, false),
  empty: await start(mock.port, true, opts.empty),
  signing: await start(mock.port, true),
};
for (const s of Object.values(subjects)) await measure(s, 3); // JIT, keep-alive pools
const names = Object.keys(subjects);
const results = Object.fromEntries(names.map((n) => [n, []]));
const f = (v) => v.toFixed(1);
const us = (v) => `${v >= 0 ? '+' : ''}${f(v)} µs`;
for (let round = 0; round < rounds; round++) {
  for (const name of names.map((_, i) => names[(i + round) % names.length])) results[name][round] = await measure(subjects[name], seconds);
  const [none, empty, signing] = names.map((n) => results[n][round]);
  console.log(`${round + 1}: no script ${f(none.cpuUs)} µs/req | empty script ${us(empty.cpuUs - none.cpuUs)} (in the run ${f(empty.runUs)}) | signing script ${us(signing.cpuUs - none.cpuUs)} (in the run ${f(signing.runUs)})`);
}
const added = (name) => summary(results[name].map((r, i) => r.cpuUs - results.none[i].cpuUs));
const inRun = (name) => summary(results[name].map((r) => r.runUs));
for (const name of ['empty', 'signing']) {
  console.log(`${name} script: ${withSpread(added(name), us)} CPU per request; ${withSpread(inRun(name), (v) => `${f(v)} µs`)} inside the run`);
}
const errors = Object.values(results).flat().reduce((n, r) => n + r.errors, 0);
if (errors > 0) console.log(`errors: ${errors}`);
process.exit(0);
