// Micro-benchmark (in-process, one core): CPU per observation of the proxy's
// hand-written latency histogram against prom-client's Histogram with the
// same buckets and label, over a realistic spread of latencies and a few
// upstreams. Not part of `npm run bench`.
// Run: npm run -s build && node bench/latency-histogram.mjs
import { Histogram, Registry } from 'prom-client';
import { LatencyHistogram } from '../dist/metrics/latency-histogram.js';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const N = 2_000_000;
const upstreams = ['openai', 'anthropic', 'gemini', 'mistral'];
const samples = Float64Array.from({ length: 4096 }, (_, i) => Math.exp(-6 + ((i * 7919) % 4096) / 512));

function measure(name, observe) {
  for (let i = 0; i < 200_000; i++) observe(upstreams[i & 3], samples[i & 4095]);
  const start = process.cpuUsage();
  for (let i = 0; i < N; i++) observe(upstreams[i & 3], samples[i & 4095]);
  const used = process.cpuUsage(start);
  const ns = ((used.user + used.system) * 1000) / N;
  console.log(`${name}: ${ns.toFixed(0)} ns CPU per observation`);
  return ns;
}

const own = new LatencyHistogram('own_seconds', 'own', 'upstream');
const theirs = new Histogram({ name: 'prom_seconds', help: 'prom', labelNames: ['upstream'], buckets: BUCKETS, registers: [new Registry()] });
for (let round = 0; round < 3; round++) {
  const a = measure('hand-written LatencyHistogram', (u, s) => own.observe(u, s));
  const b = measure('prom-client Histogram        ', (u, s) => theirs.observe({ upstream: u }, s));
  console.log(`  prom-client / hand-written: ${(b / a).toFixed(1)}`);
}
