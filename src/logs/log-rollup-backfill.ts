// The per-minute rollups computed from the request-log rows themselves: the
// migration that added RequestLogMinute ran this text (so stats stay right
// over rows stored before the upgrade; a test keeps the two the same), and
// tests that seed rows directly rebuild their minutes with it.

import { LATENCY_BUCKETS, LATENCY_COLUMNS, latencyBucketCase } from './latency-buckets.ts';

/** INSERT … SELECT … GROUP BY over the RequestLog rows matching `where` (default: all of them). */
export function rollupBackfillSql(provider: 'sqlite' | 'postgres', where = ''): string {
  const minute = provider === 'sqlite' ? `"createdAt" - ("createdAt" % 60000)` : `date_trunc('minute', "createdAt")`;
  const buckets = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `SUM(${latencyBucketCase('"latencyMs"', i)})`);
  const columns = ['minute', 'upstreamId', 'keyId', 'requests', 'errors', 'latencyMs', 'latencyMax', 'bytesIn', 'bytesOut', 'promptTokens', 'completionTokens', ...LATENCY_COLUMNS];
  const values = [
    `${minute}`, '"upstreamId"', '"keyId"', 'COUNT(*)', `SUM(CASE WHEN "status" >= 400 OR "error" IS NOT NULL THEN 1 ELSE 0 END)`,
    'SUM("latencyMs")', 'MAX("latencyMs")', 'SUM("bytesIn")', 'SUM("bytesOut")', 'COALESCE(SUM("promptTokens"), 0)', 'COALESCE(SUM("completionTokens"), 0)',
    ...buckets,
  ];
  return (
    `INSERT INTO "RequestLogMinute" (${columns.map((c) => `"${c}"`).join(', ')})\n` +
    `SELECT ${values.join(',\n  ')}\nFROM "RequestLog"${where ? ` WHERE ${where}` : ''}\nGROUP BY 1, 2, 3`
  );
}
