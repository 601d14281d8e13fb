// Seeds a stopped keyrelay's SQLite database with request-log rows through the
// log writer's own store (the real INSERTs and indexes), spread over the last
// 24 hours, for the scaling rows at 1,000,000 rows.
import { openLogStore } from '../dist/logs/log-store.js';

/** Adds `count` rows for `upstreamId`, its `keyIds` in turn and `tokenId`; `ruleId` is matched by 1% of them. */
export async function seedRequestLogs({ file, count, upstreamId, keyIds, tokenId, ruleId, progress }) {
  const store = openLogStore({ provider: 'sqlite', file, url: `file:${file}` }, 5000);
  const now = Date.now();
  const step = (24 * 3600 * 1000) / count;
  const batch = 5000;
  for (let done = 0; done < count; done += batch) {
    const rows = [];
    for (let n = done; n < Math.min(count, done + batch); n++) {
      const status = n % 50 === 0 ? 500 : n % 33 === 0 ? 429 : 200;
      rows.push({
        id: 0, createdAt: Math.floor(now - 24 * 3600 * 1000 + n * step), requestId: `01a2176f-bf72-7000-8000-${n.toString(16).padStart(12, '0')}`,
        upstreamId, keyId: keyIds[n % keyIds.length], accessTokenId: tokenId, method: 'POST', path: n % 7 === 0 ? '/v1/embeddings' : '/v1/chat/completions',
        status, outcome: status === 200 ? 'ok' : 'upstream_error', latencyMs: 3 + (n % 40), overheadMs: 0.07, attempts: 1, bytesIn: 64, bytesOut: 259,
        clientIp: '127.0.0.1', error: null, model: 'bench', stream: false, promptTokens: 9, completionTokens: 7, totalTokens: 16,
        matchedRules: n % 100 === 0 ? ruleId : null, requestBody: null, responseBody: null, bodyTruncated: false,
      });
    }
    await store.write(rows, null, false);
    if ((done / batch) % 40 === 0) progress(`  seeded ${done + rows.length} of ${count} request-log rows`);
  }
  await store.close();
}
