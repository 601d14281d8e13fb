// npm run bench -- --scaling: keyrelay's cost as its work grows. Each row is
// keyrelay's CPU per request (whole process) and its added p50/p99 over the
// bare forwarder in the same round, at 1,000 req/s unless the row says
// otherwise; rows and the bare forwarder are interleaved over the rounds and
// the medians printed as a Markdown table (the README's scaling table).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedRequestLogs } from './log-seed.mjs';
import { LOAD_CPU, pin } from './pin.mjs';
import { cpuSeconds, rssMiB, sampleRss } from './proc.mjs';
import { setupScalingUpstreams } from './scaling-setup.mjs';
import { adminClient, BENCH_ADMIN_TOKEN, startKeyrelay } from './setup.mjs';
import { median } from './stats.mjs';

const CHAT = '/v1/chat/completions';
const LOG_ROWS = Number(process.env.BENCH_LOG_ROWS ?? 1_000_000);

/** Row groups `--scaling-only` can pick (default: all). */
export const SCALING_GROUPS = ['pools', 'rules', 'logs', 'bodies', 'sse', 'subscribers', 'queries'];

export async function runScaling(ctx) {
  const { out, rounds, mockPort, subjects, children } = ctx;
  const groups = new Set(ctx.groups ?? SCALING_GROUPS);
  const scalingRounds = Math.min(rounds, 3);
  const krUrl = subjects.keyrelay.adminUrl;
  out(`## Scaling (${scalingRounds} rounds, ${ctx.seconds} s a run; rows: ${[...groups].join(', ')})`);
  let pools = [];
  let rules = [];
  if (groups.has('pools') || groups.has('rules')) {
    out('setting up the scaling upstreams...');
    ({ pools, rules } = await setupScalingUpstreams(krUrl, `http://127.0.0.1:${mockPort}`, out));
  }
  const logs = groups.has('logs') || groups.has('queries') ? await startLogInstances(ctx) : null;

  const rows = [];
  const rate = (label, subject, path, extra = {}) => rows.push({ label, subject, spec: { mode: 'open', rate: extra.rate ?? 1000, path, ...extra.spec }, bare: extra.bare ?? 'json', bytes: extra.bytes });
  if (groups.has('pools')) for (const p of pools) rate(`pool ${p.size.toLocaleString('en')} keys, ${p.strategy}`, subjects.keyrelay, `/proxy/${p.name}${CHAT}`);
  if (groups.has('rules')) for (const r of rules) rate(`${r.count} rules (status, header, body text/regex, JSONPath, latency, nested)`, subjects.keyrelay, `/proxy/${r.name}${CHAT}`);
  if (groups.has('logs')) {
    rate('request-log table empty', logs.empty.subject, `/proxy/bench${CHAT}`);
    rate(`request-log table ${LOG_ROWS.toLocaleString('en')} rows`, logs.full.subject, `/proxy/bench${CHAT}`);
  }
  for (const [size, label, r] of groups.has('bodies') ? [[1024, '1 KB', 1000], [100 * 1024, '100 KB', 1000], [1024 * 1024, '1 MB', 100]] : []) {
    const body = JSON.stringify({ model: 'bench', input: 'x'.repeat(size - 30) });
    rate(`request body ${label} (${r} req/s)`, subjects.keyrelay, `/proxy/bench${CHAT}`, { rate: r, spec: { body }, bare: `req${size}`, bytes: size });
    rate(`response body ${label} (${r} req/s)`, subjects.keyrelay, `/proxy/bench/v1/bytes?size=${size}`, { rate: r, bare: `res${size}`, bytes: size });
  }
  const bareSpecs = { json: { mode: 'open', rate: 1000, path: `/proxy/bench${CHAT}` } };
  for (const row of rows) if (!bareSpecs[row.bare]) bareSpecs[row.bare] = { ...row.spec };

  const results = Object.fromEntries(rows.map((r) => [r.label, []]));
  const bare = Object.fromEntries(Object.keys(bareSpecs).map((k) => [k, []]));
  for (let round = 0; round < scalingRounds; round++) {
    for (const [k, spec] of Object.entries(bareSpecs)) bare[k][round] = await ctx.measuredRun(subjects.bare, spec);
    for (const row of rotate(rows, round)) {
      const r = await ctx.measuredRun(row.subject, row.spec);
      results[row.label][round] = r;
      out(`${round + 1} ${row.label}: ${r.cpuPerRequestUs.toFixed(1)} µs/req, p50 ${(r.p50 / 1000).toFixed(2)} ms, p99 ${(r.p99 / 1000).toFixed(2)} ms, errors ${r.errors}, statuses ${JSON.stringify(r.statuses)}`);
    }
  }
  const table = rows.map((row) => tableRow(row, results[row.label], bare[row.bare]));
  if (groups.has('sse')) table.push(...(await sseRows(ctx, scalingRounds)));
  if (groups.has('subscribers')) table.push(...(await subscriberRows(ctx, scalingRounds, bare.json)));
  if (groups.has('queries')) table.push(...(await queryRows(logs.full)));
  if (logs) for (const inst of [logs.empty, logs.full]) await inst.stop();
  printTable(out, table);
  return table;
}

const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);

function tableRow(row, runs, bareRuns) {
  const cpu = median(runs.map((r) => r.cpuPerRequestUs));
  const bareCpu = median(bareRuns.map((r) => r.cpuPerRequestUs));
  const addedP50 = median(runs.map((r, i) => r.p50 - bareRuns[i].p50));
  const addedP99 = median(runs.map((r, i) => r.p99 - bareRuns[i].p99));
  const also = row.bytes ? `${((median(runs.map((r) => r.rps)) * row.bytes) / 1048576).toFixed(1)} MiB/s` : '';
  const errors = runs.reduce((n, r) => n + r.errors + Object.entries(r.statuses).filter(([s]) => s !== '200').reduce((m, [, c]) => m + c, 0), 0);
  return { row: row.label, cpuUs: cpu, bareCpuUs: bareCpu, addedP50Us: addedP50, addedP99Us: addedP99, also: errors ? `${also} ${errors} non-200` : also };
}

/** Two fresh keyrelays configured as the headline's: one with an empty request-log table, one with LOG_ROWS rows seeded while it was stopped. */
async function startLogInstances(ctx) {
  const start = async (label, seed) => {
    const dataDir = mkdtempSync(join(tmpdir(), `keyrelay-bench-${label}-`));
    let kr = await startKeyrelay({ mockPort: ctx.mockPort, dataDir, onSpawn: (c) => ctx.children.push(c) });
    const token = kr.token;
    let ids = null;
    if (seed) {
      const gql = adminClient(kr.url);
      const { upstreams, accessTokens, rules } = await gql('{ upstreams { id keys(first: 100) { edges { node { id } } } } accessTokens { id } rules { id } }');
      ids = { upstreamId: upstreams[0].id, keyIds: upstreams[0].keys.edges.map((e) => e.node.id), tokenId: accessTokens[0].id, ruleId: rules[0].id };
      kr.child.kill('SIGTERM');
      await new Promise((r) => kr.child.once('exit', r));
      ctx.out(`seeding ${LOG_ROWS.toLocaleString('en')} request-log rows...`);
      await seedRequestLogs({ file: join(dataDir, 'keyrelay.db'), count: LOG_ROWS, ...ids, progress: ctx.out });
      kr = await startKeyrelay({ mockPort: ctx.mockPort, dataDir, onSpawn: (c) => ctx.children.push(c), setup: false });
    }
    const subject = { origin: kr.url, pid: kr.child.pid, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, adminUrl: kr.url };
    await ctx.measuredRun(subject, { mode: 'closed', seconds: 2 });
    const stop = async () => {
      kr.child.kill('SIGTERM');
      await new Promise((r) => kr.child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    };
    return { subject, ids, stop };
  };
  return { empty: await start('empty', false), full: await start('full', true) };
}

/** 10, 100 and 1,000 concurrent SSE streams: memory per open stream and CPU per stream, keyrelay and bare. */
async function sseRows(ctx, rounds) {
  const rows = [];
  for (const streams of [10, 100, 1000]) {
    const per = { keyrelay: [], bare: [] };
    for (let round = 0; round < rounds; round++) {
      for (const name of rotate(['keyrelay', 'bare'], round)) {
        const s = ctx.subjects[name];
        const before = rssMiB(s.pid);
        const cpu0 = cpuSeconds(s.pid);
        const stopRss = sampleRss(s.pid);
        const r = await ctx.load({ mode: 'sse', origin: s.origin, path: '/proxy/bench/v1/sse?events=20&interval=100', headers: s.headers, streams, concurrency: streams });
        const peak = stopRss();
        per[name].push({ ttfb: r.ttfbP50, kib: ((peak - before) * 1024) / streams, cpu: ((cpuSeconds(s.pid) - cpu0) / streams) * 1e6, errors: r.errors, streams: r.streams });
      }
    }
    const m = (name, f) => median(per[name].map(f));
    rows.push({
      row: `${streams.toLocaleString('en')} concurrent SSE streams (20 events, 100 ms apart)`,
      cpuUs: m('keyrelay', (x) => x.cpu), bareCpuUs: m('bare', (x) => x.cpu), addedP50Us: m('keyrelay', (x) => x.ttfb) - m('bare', (x) => x.ttfb), addedP99Us: null,
      also: `CPU per stream; added = time to first byte; memory ${m('keyrelay', (x) => x.kib).toFixed(1)} KiB per open stream (bare ${m('bare', (x) => x.kib).toFixed(1)})${per.keyrelay.some((x) => x.errors) ? ', errors' : ''}`,
    });
  }
  return rows;
}

/** 1, 10 and 50 live requestLogged subscribers (graphql-ws, in a process on the load generator's core) at 1,000 req/s. */
async function subscriberRows(ctx, rounds, bareRuns) {
  const rows = [];
  const file = fileURLToPath(new URL('./subscribers.mjs', import.meta.url));
  const kr = ctx.subjects.keyrelay;
  for (const count of [1, 10, 50]) {
    const runs = [];
    let received = 0;
    for (let round = 0; round < rounds; round++) {
      const child = fork(file);
      ctx.children.push(child);
      pin(child.pid, LOAD_CPU);
      child.send({ url: kr.adminUrl, token: BENCH_ADMIN_TOKEN, count });
      await new Promise((r) => child.once('message', r));
      runs.push(await ctx.measuredRun(kr, { mode: 'open', rate: 1000, path: `/proxy/bench${CHAT}` }));
      child.send('stop');
      received += (await new Promise((r) => child.once('message', r))).received;
    }
    const sent = runs.reduce((n, r) => n + r.requests, 0) * count;
    rows.push(tableRow({ label: `${count} live requestLogged subscriber${count > 1 ? 's' : ''}`, bytes: 0 }, runs, bareRuns));
    rows.at(-1).also = `${received.toLocaleString('en')} of ${sent.toLocaleString('en')} events delivered`;
  }
  return rows;
}

/** requestLogs with each filter and stats over 24 h at LOG_ROWS rows: the median of 3 answers, timed from the bench process. */
async function queryRows(full) {
  const gql = adminClient(full.subject.adminUrl);
  const { upstreamId, keyIds, tokenId, ruleId } = full.ids;
  const from = new Date(Date.now() - 3600_000).toISOString();
  const filters = {
    'no filter': {}, upstreamId: { upstreamId }, keyId: { keyId: keyIds[3] }, accessTokenId: { accessTokenId: tokenId }, 'statusMin 500': { statusMin: 500 },
    errorsOnly: { errorsOnly: true }, 'from (last hour)': { from }, 'text "embeddings"': { text: 'embeddings' }, requestId: { requestId: '01a2176f-bf72-7000-8000-000000001234' },
    matchedRuleId: { matchedRuleId: ruleId }, 'keyId + errorsOnly': { keyId: keyIds[5], errorsOnly: true },
  };
  // Wall time from the bench process, and keyrelay's CPU time for the answer (whole process, /proc): on a busy machine the CPU is the steadier figure.
  const time = async (query, variables) => {
    const t = [];
    const cpu = [];
    for (let i = 0; i < 3; i++) {
      const c0 = cpuSeconds(full.subject.pid);
      const t0 = performance.now();
      await gql(query, variables);
      t.push(performance.now() - t0);
      cpu.push((cpuSeconds(full.subject.pid) - c0) * 1000);
    }
    return { ms: median(t), cpuMs: median(cpu) };
  };
  const rows = [];
  for (const [name, filter] of Object.entries(filters)) {
    const taken = await time('query($f: RequestLogFilter) { requestLogs(first: 50, filter: $f) { edges { node { id path status createdAt } } } }', { f: filter });
    rows.push({ row: `requestLogs(first: 50) filter ${name}, ${LOG_ROWS.toLocaleString('en')} rows`, queryMs: taken.ms, queryCpuMs: taken.cpuMs });
  }
  const stats = await time('{ stats { successRate latency { p50 p95 p99 } buckets { requests errors } keys { requests } } }');
  rows.push({ row: `stats over 24 h, ${LOG_ROWS.toLocaleString('en')} rows`, queryMs: stats.ms, queryCpuMs: stats.cpuMs });
  return rows;
}

function printTable(out, table) {
  const f = (v, d = 1) => (v == null ? '' : v.toFixed(d));
  out('\n| row | keyrelay CPU µs/req | bare CPU µs/req | added p50 ms | added p99 ms | also |');
  out('|---|---:|---:|---:|---:|---|');
  for (const r of table) {
    if (r.queryMs != null) out(`| ${r.row} | | | | | answered in ${r.queryMs.toFixed(1)} ms (keyrelay CPU ${r.queryCpuMs.toFixed(1)} ms) |`);
    else out(`| ${r.row} | ${f(r.cpuUs)} | ${f(r.bareCpuUs)} | ${f(r.addedP50Us / 1000, 3)} | ${r.addedP99Us == null ? '' : f(r.addedP99Us / 1000, 3)} | ${r.also ?? ''} |`);
  }
  out('');
}
