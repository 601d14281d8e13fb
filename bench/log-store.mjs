// `node bench/log-store.mjs [--rows N] [--batch N] [--keys N] [--drop index,index]` (after npm run build):
// CPU time per request-log row of the log writer's SQLite transaction (the
// worker's store, its prepared multi-row INSERTs, the table's indexes), in one
// thread with no sockets, so it is steady on a noisy machine where the proxy
// benchmark is not. The rows are the benchmark's: one upstream, one token,
// `--keys` keys taken in turn (each key is an insertion point inside the
// (keyId, id) index), `--batch` rows per transaction (a flush every 50 ms at
// 11,000 req/s is about 550). `--drop` removes indexes first, to price them.
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openLogStore } from '../dist/logs/log-store.js';
import { createLogDatabase } from './log-database.mjs';

const { values: opts } = parseArgs({
  options: { rows: { type: 'string', default: '300000' }, batch: { type: 'string', default: '550' }, keys: { type: 'string', default: '10' }, drop: { type: 'string', default: '' } },
});
const total = Number(opts.rows);
const batch = Number(opts.batch);
const keys = Number(opts.keys);
const dropped = opts.drop.split(',').filter(Boolean);

const { target, remove } = await createLogDatabase('log-store', Array.from({ length: keys }, (_, i) => `key${String(i).padStart(21, '0')}`));
if (dropped.length) {
  const db = new Database(target.file);
  for (const index of dropped) db.exec(`DROP INDEX "${index}"`);
  db.close();
}

const store = openLogStore(target, 5000);
const start = Date.now();
let seq = 0;
const row = () => {
  const n = seq++;
  return {
    id: 0, createdAt: start + n, requestId: `01a2176f-bf72-7000-8000-${n.toString(16).padStart(12, '0')}`, upstreamId: 'up1',
    keyId: `key${String(n % keys).padStart(21, '0')}`, accessTokenId: 'tok1', method: 'POST', path: '/v1/chat/completions', status: 200,
    outcome: 'ok', latencyMs: 3, overheadMs: 0.07, attempts: 1, bytesIn: 64, bytesOut: 259, clientIp: '127.0.0.1', error: null, model: 'bench',
    stream: false, promptTokens: 9, completionTokens: 7, totalTokens: 16, matchedRules: null, requestBody: null, responseBody: null, bodyTruncated: false,
  };
};
let cpuUs = 0;
for (let done = 0; done < total; done += batch) {
  const rows = Array.from({ length: Math.min(batch, total - done) }, row);
  const before = process.cpuUsage();
  await store.write(rows, null, false);
  const used = process.cpuUsage(before);
  cpuUs += used.user + used.system;
}
await store.close();
remove();
console.log(`${(cpuUs / total).toFixed(2)} µs CPU per row: ${total} rows, ${batch} per transaction, ${keys} keys${dropped.length ? `, without ${dropped.join(', ')}` : ''}`);
