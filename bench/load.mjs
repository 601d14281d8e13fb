// Load generator, run in its own process: closed loop (N connections, each
// sending the next request when the previous answer is read) or open loop
// (a fixed rate, whatever the latency). Latencies in microseconds.
import { Pool } from 'undici';

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0);

function summarise(latencies, errors, statuses, seconds) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    errors,
    statuses,
    rps: latencies.length / seconds,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : 0,
  };
}

async function once(pool, spec, latencies, statuses) {
  const start = process.hrtime.bigint();
  const res = await pool.request({ path: spec.path, method: spec.method, headers: spec.headers, body: spec.body });
  await res.body.dump();
  latencies.push(Number(process.hrtime.bigint() - start) / 1000);
  statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
}

/** Closed loop: `connections` workers for `seconds`. */
async function closed(spec) {
  const pool = new Pool(spec.origin, { connections: spec.connections, pipelining: 1 });
  const latencies = [];
  const statuses = {};
  let errors = 0;
  const end = Date.now() + spec.seconds * 1000;
  const worker = async () => {
    while (Date.now() < end) {
      try {
        await once(pool, spec, latencies, statuses);
      } catch {
        errors++;
      }
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: spec.connections }, worker));
  const elapsed = (Date.now() - t0) / 1000;
  await pool.close();
  return summarise(latencies, errors, statuses, elapsed);
}

/** Open loop: `rate` requests per second for `seconds`, scheduled on a fixed clock. */
async function open(spec) {
  const pool = new Pool(spec.origin, { connections: spec.connections, pipelining: 1 });
  const latencies = [];
  const statuses = {};
  let errors = 0;
  const total = spec.rate * spec.seconds;
  const interval = 1000 / spec.rate;
  const t0 = performance.now();
  const inflight = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(once(pool, spec, latencies, statuses).catch(() => errors++));
    if (inflight.length > 5000) await Promise.all(inflight.splice(0, 2500));
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - t0) / 1000;
  await pool.close();
  return summarise(latencies, errors, statuses, elapsed);
}

/** SSE: `streams` streams, `concurrency` at a time; time to first byte and total, and the gaps between chunks. */
async function sse(spec) {
  const pool = new Pool(spec.origin, { connections: spec.concurrency });
  const ttfb = [];
  const totals = [];
  const chunks = [];
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (next < spec.streams) {
      next++;
      const start = process.hrtime.bigint();
      try {
        const res = await pool.request({ path: spec.path, method: 'GET', headers: spec.headers });
        let first = true;
        for await (const _chunk of res.body) {
          if (first) ttfb.push(Number(process.hrtime.bigint() - start) / 1000);
          first = false;
          chunks.push(1);
        }
        totals.push(Number(process.hrtime.bigint() - start) / 1000);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  await pool.close();
  const s = (a) => Float64Array.from(a).sort();
  const t = s(ttfb);
  const tt = s(totals);
  return {
    streams: totals.length,
    errors,
    chunksPerStream: chunks.length / Math.max(1, totals.length),
    ttfbP50: percentile(t, 50),
    ttfbP99: percentile(t, 99),
    totalP50: percentile(tt, 50),
    totalP99: percentile(tt, 99),
  };
}

process.on('message', async (spec) => {
  const run = { closed, open, sse }[spec.mode];
  process.send(await run(spec));
  process.exit(0);
});
