// GraphQL for rate limits: the RateLimit type, its query and mutations, and
// the provider-reported budget on ApiKey (read from memory, never stored).

import { builder } from '../builder.ts';
import { RATE_LIMIT_SCOPES, type RateLimitScope } from '../../ratelimit/limit-counter.ts';
import type { ProviderLimits } from '../../ratelimit/provider-headers.ts';

export const RateLimitScopeEnum = builder.enumType('RateLimitScope', { values: RATE_LIMIT_SCOPES });

builder.prismaObject('RateLimit', {
  description: 'An operator limit on an access token, an upstream or a key. Every field set applies; a request must fit all of them.',
  fields: (t) => ({
    id: t.exposeID('id'),
    scope: t.field({ type: RateLimitScopeEnum, select: { scope: true }, resolve: (r) => r.scope as RateLimitScope }),
    targetId: t.exposeID('targetId'),
    requests: t.exposeInt('requests', { nullable: true, description: 'Requests allowed in any window of perSeconds (a sliding window: no boundary lets more through).' }),
    perSeconds: t.exposeInt('perSeconds', { nullable: true }),
    concurrent: t.exposeInt('concurrent', { nullable: true, description: 'Requests in flight at once.' }),
    tokensPerMinute: t.exposeInt('tokensPerMinute', {
      nullable: true,
      description: 'Tokens (from the usage of answered requests) in the last minute; charged after each response, so approximate by one request.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const ProviderLimitsType = builder.objectRef<ProviderLimits>('ProviderLimits').implement({
  description: 'What the provider last reported about this key (upstreams with respectProviderLimits), kept in memory.',
  fields: (t) => ({
    remainingRequests: t.float({ nullable: true, resolve: (p) => p.remainingRequests }),
    remainingTokens: t.float({ nullable: true, resolve: (p) => p.remainingTokens }),
    resetsAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the exhausted budget resets (the key is skipped until then); otherwise the earliest reported reset.',
      resolve: (p) => (p.blockedUntil > 0 ? p.blockedUntil : minKnown(p.requestsResetAt, p.tokensResetAt)),
    }),
    observedAt: t.field({ type: 'DateTime', resolve: (p) => p.observedAt }),
  }),
});

function minKnown(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}

builder.prismaObjectField('ApiKey', 'providerLimits', (t) =>
  t.field({ type: ProviderLimitsType, nullable: true, select: { id: true }, resolve: (key, _args, ctx) => ctx.services.state.limits.providerLimits(key.id) }),
);


const CreateRateLimitInput = builder.inputType('CreateRateLimitInput', {
  fields: (t) => ({
    scope: t.field({ type: RateLimitScopeEnum, required: true }),
    targetId: t.id({ required: true, description: 'The access token, upstream or key the limit applies to.' }),
    requests: t.int(),
    perSeconds: t.int(),
    concurrent: t.int(),
    tokensPerMinute: t.int(),
  }),
});

const UpdateRateLimitInput = builder.inputType('UpdateRateLimitInput', {
  description: 'Fields left out keep their value; null clears one.',
  fields: (t) => ({ requests: t.int(), perSeconds: t.int(), concurrent: t.int(), tokensPerMinute: t.int() }),
});

builder.queryFields((t) => ({
  rateLimits: t.prismaField({
    type: ['RateLimit'],
    args: { scope: t.arg({ type: RateLimitScopeEnum }), targetId: t.arg.id() },
    resolve: (query, _root, args, ctx) =>
      ctx.services.prisma.rateLimit.findMany({
        ...query,
        where: { ...(args.scope ? { scope: args.scope } : {}), ...(args.targetId ? { targetId: String(args.targetId) } : {}) },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      }),
  }),
}));

builder.mutationFields((t) => ({
  createRateLimit: t.prismaField({
    type: 'RateLimit',
    args: { input: t.arg({ type: CreateRateLimitInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const row = await ctx.services.rateLimits.create({ ...args.input, targetId: String(args.input.targetId) });
      return ctx.services.prisma.rateLimit.findUniqueOrThrow({ ...query, where: { id: row.id } });
    },
  }),
  updateRateLimit: t.prismaField({
    type: 'RateLimit',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateRateLimitInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      await ctx.services.rateLimits.update(String(args.id), args.input);
      return ctx.services.prisma.rateLimit.findUniqueOrThrow({ ...query, where: { id: String(args.id) } });
    },
  }),
  deleteRateLimit: t.field({
    type: 'ID',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => (await ctx.services.rateLimits.remove(String(args.id))).id,
  }),
}));
