// The per-minute rollups computed from the request-log rows themselves: the
// migration that added RequestLogMinute and RequestLogKeyMinute ran these
// statements (so stats stay right over rows stored before the upgrade; a test
// keeps the two the same), and tests that seed rows directly rebuild their
// minutes with them.

import { LATENCY_BUCKETS, LATENCY_COLUMNS, latencyBucketCase } from './latency-buckets.ts';

const ERROR = `SUM(CASE WHEN "status" >= 400 OR "error" IS NOT NULL THEN 1 ELSE 0 END)`;

/** INSERT … SELECT … GROUP BY into both rollup tables, over the RequestLog rows matching `where` (default: all of them). */
export function rollupBackfillSql(provider: 'sqlite' | 'postgres', where = ''): [string, string] {
  const minute = provider === 'sqlite' ? `"createdAt" - ("createdAt" % 60000)` : `date_trunc('minute', "createdAt")`;
  const buckets = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `SUM(${latencyBucketCase('"latencyMs"', i)})`);
  const minutes = ['minute', 'upstreamId', 'requests', 'errors', 'latencyMs', 'latencyMax', 'bytesIn', 'bytesOut', 'promptTokens', 'completionTokens', ...LATENCY_COLUMNS];
  const minuteValues = [
    minute, '"upstreamId"', 'COUNT(*)', ERROR, 'SUM("latencyMs")', 'MAX("latencyMs")', 'SUM("bytesIn")', 'SUM("bytesOut")',
    'COALESCE(SUM("promptTokens"), 0)', 'COALESCE(SUM("completionTokens"), 0)', ...buckets,
  ];
  const list = (columns: string[]) => columns.map((c) => `"${c}"`).join(', ');
  const keyWhere = `"keyId" IS NOT NULL${where ? ` AND ${where}` : ''}`;
  return [
    `INSERT INTO "RequestLogMinute" (${list(minutes)})\nSELECT ${minuteValues.join(',\n  ')}\nFROM "RequestLog"${where ? ` WHERE ${where}` : ''}\nGROUP BY 1, 2`,
    `INSERT INTO "RequestLogKeyMinute" ("minute", "upstreamId", "keyId", "requests", "errors", "latencyMs")\n` +
      `SELECT ${minute}, "upstreamId", "keyId", COUNT(*), ${ERROR}, SUM("latencyMs")\nFROM "RequestLog" WHERE ${keyWhere}\nGROUP BY 1, 2, 3`,
  ];
}
