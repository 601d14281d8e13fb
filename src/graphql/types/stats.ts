import { builder } from '../builder.ts';
import type { Stats, Totals } from '../../admin/stats.ts';
import type { Percentiles } from '../../admin/stats-percentiles.ts';
import { KeyCountsType } from './key-counts.ts';

type Row<K extends keyof Stats> = Stats[K] extends Array<infer R> ? R : never;

const TotalsType = builder.objectRef<Totals>('StatsTotals').implement({
  fields: (t) => ({
    requests: t.exposeInt('requests'),
    errors: t.exposeInt('errors', { description: 'Status >= 400 or a transport error.' }),
    avgLatencyMs: t.exposeFloat('avgLatencyMs', { nullable: true }),
    bytesIn: t.exposeFloat('bytesIn'),
    bytesOut: t.exposeFloat('bytesOut'),
    promptTokens: t.exposeFloat('promptTokens'),
    completionTokens: t.exposeFloat('completionTokens'),
  }),
});

const LatencyType = builder.objectRef<Percentiles>('LatencyPercentiles').implement({
  description:
    'Nearest-rank percentiles of latencyMs (the ceil(p × n)-th smallest), null without requests. Exact up to 20,000 requests in the range, and for ranges ' +
    'that do not start on a whole minute with whole-minute buckets; otherwise read from per-minute latency buckets: the bucket bound at or above the exact ' +
    'value (exact to 6 ms, then steps of 1-1.2-1.5-2-2.5-3-4-5-6-8 per decade, so at most about 30% above it), never above the largest latency.',
  fields: (t) => ({ p50: t.exposeInt('p50', { nullable: true }), p95: t.exposeInt('p95', { nullable: true }), p99: t.exposeInt('p99', { nullable: true }) }),
});

const BucketType = builder.objectRef<Row<'buckets'>>('StatsBucket').implement({
  fields: (t) => ({ start: t.field({ type: 'DateTime', resolve: (b) => b.start }), requests: t.exposeInt('requests'), errors: t.exposeInt('errors') }),
});

const UpstreamStatsType = builder.objectRef<Row<'upstreams'>>('UpstreamStats').implement({
  fields: (t) => ({
    upstreamId: t.exposeID('upstreamId', { nullable: true, description: 'null for requests that named no known upstream.' }),
    upstreamName: t.exposeString('upstreamName', { nullable: true }),
    requests: t.exposeInt('requests'),
    errors: t.exposeInt('errors'),
    avgLatencyMs: t.exposeFloat('avgLatencyMs', { nullable: true }),
  }),
});

const KeyStatsType = builder.objectRef<Row<'keys'>>('KeyStats').implement({
  fields: (t) => ({
    keyId: t.exposeID('keyId', { nullable: true }),
    keyName: t.exposeString('keyName', { nullable: true, description: 'null when the key was deleted since.' }),
    fingerprint: t.exposeString('fingerprint', { nullable: true }),
    requests: t.exposeInt('requests'),
    errors: t.exposeInt('errors'),
    avgLatencyMs: t.exposeFloat('avgLatencyMs', { nullable: true }),
  }),
});

const StatsType = builder.objectRef<Stats>('Stats').implement({
  fields: (t) => ({
    from: t.field({ type: 'DateTime', resolve: (s) => s.from }),
    to: t.field({ type: 'DateTime', resolve: (s) => s.to }),
    bucketSeconds: t.exposeInt('bucketSeconds'),
    totals: t.field({ type: TotalsType, resolve: (s) => s.totals }),
    successRate: t.exposeFloat('successRate', { nullable: true, description: 'Share of requests that were not errors; null without requests.' }),
    latency: t.field({ type: LatencyType, resolve: (s) => s.latency }),
    buckets: t.field({ type: [BucketType], description: 'Every bucket from `from`, empty ones included.', resolve: (s) => s.buckets }),
    upstreams: t.field({ type: [UpstreamStatsType], resolve: (s) => s.upstreams }),
    keys: t.field({ type: [KeyStatsType], description: 'The 100 busiest keys.', resolve: (s) => s.keys }),
    keysByState: t.field({ type: KeyCountsType, description: 'Current key states (now, not over the range).', resolve: (s) => s.keysByState }),
  }),
});

builder.queryFields((t) => ({
  stats: t.field({
    type: StatsType,
    description:
      'Request statistics over [from, to) (default: the 24 hours up to the end of the current minute; with only `from`, up to now), optionally for one upstream. Whole minutes are read ' +
      'from per-minute rollups when `from` is on a whole minute and buckets are whole minutes (the defaults), so a day answers in milliseconds at any traffic.',
    args: { from: t.arg({ type: 'DateTime' }), to: t.arg({ type: 'DateTime' }), upstreamId: t.arg.id(), bucketSeconds: t.arg.int() },
    resolve: (_root, args, ctx) =>
      ctx.services.stats({ from: args.from, to: args.to, upstreamId: args.upstreamId?.toString(), bucketSeconds: args.bucketSeconds }),
  }),
}));
