import { builder } from '../builder.ts';
import { keyOrderBy, keyWhere } from '../../admin/key-query.ts';
import { KeyOrderEnum, KeyStatusEnum } from './enums.ts';

// There is deliberately no field that returns a key's secret.
export const ApiKeyType = builder.prismaObject('ApiKey', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    fingerprint: t.exposeString('fingerprint'),
    status: t.expose('status', { type: KeyStatusEnum }),
    statusReason: t.exposeString('statusReason', { nullable: true }),
    disabledUntil: t.expose('disabledUntil', { type: 'DateTime', nullable: true }),
    weight: t.exposeInt('weight'),
    quota: t.exposeInt('quotaLimit', { nullable: true, description: 'Requests allowed per quota period; null is unlimited.' }),
    used: t.int({
      description: 'Requests counted against the quota this period.',
      select: { quotaUsed: true },
      // This instance counts in memory ahead of its batched writes.
      resolve: (key, _args, ctx) => Math.max(key.quotaUsed, ctx.services.state.keys.get(key.id)?.used ?? 0),
    }),
    quotaResetAt: t.expose('quotaResetAt', { type: 'DateTime', nullable: true }),
    requestCount: t.exposeInt('requestCount'),
    failureCount: t.exposeInt('failureCount'),
    promptTokens: t.float({ select: { promptTokens: true }, resolve: (k) => Number(k.promptTokens) }),
    completionTokens: t.float({ select: { completionTokens: true }, resolve: (k) => Number(k.completionTokens) }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    upstream: t.relation('upstream'),
    modelCooldowns: t.relation('modelCooldowns'),
  }),
});

builder.prismaObject('KeyModelCooldown', {
  fields: (t) => ({
    model: t.exposeString('model'),
    until: t.expose('until', { type: 'DateTime' }),
    reason: t.exposeString('reason', { nullable: true }),
  }),
});

const NewKeyInput = builder.inputType('NewKeyInput', {
  fields: (t) => ({
    value: t.string({ required: true, description: 'The secret. Stored encrypted; never returned.' }),
    name: t.string(),
    weight: t.int(),
    quota: t.int({ description: 'Requests allowed per quota period.' }),
  }),
});

builder.queryFields((t) => ({
  keys: t.prismaConnection({
    type: 'ApiKey',
    cursor: 'id',
    maxSize: 1000,
    args: {
      upstreamId: t.arg.id(),
      status: t.arg({ type: KeyStatusEnum }),
      search: t.arg.string({ description: 'Case-insensitive text in the name or the fingerprint (its last 4 characters).' }),
      orderBy: t.arg({ type: KeyOrderEnum, description: 'Default CREATED_ASC.' }),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.services.prisma.apiKey.findMany({
        ...query,
        where: keyWhere({ upstreamId: args.upstreamId?.toString(), status: args.status, search: args.search }, ctx.services.sql.provider),
        orderBy: keyOrderBy(args.orderBy),
      }),
  }),
  key: t.prismaField({
    type: 'ApiKey',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.services.prisma.apiKey.findUnique({ ...query, where: { id: String(args.id) } }),
  }),
}));

const READ_BACK_SLICE = 500;

builder.mutationFields((t) => ({
  addKeys: t.prismaField({
    type: ['ApiKey'],
    description: 'Adds keys to an upstream; a key already in its pool is skipped. Returns the keys added.',
    args: { upstreamId: t.arg.id({ required: true }), keys: t.arg({ type: [NewKeyInput], required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const rows = await ctx.services.keys.add(String(args.upstreamId), args.keys);
      // Read back in slices: one `IN` list of thousands of ids passes the database's bound-parameter limit (SQLite's is 32,766, Prisma's own check lower).
      const ids = rows.map((r) => r.id);
      const byId = new Map<string, Awaited<ReturnType<typeof ctx.services.prisma.apiKey.findMany>>[number]>();
      for (let i = 0; i < ids.length; i += READ_BACK_SLICE) {
        for (const row of await ctx.services.prisma.apiKey.findMany({ ...query, where: { id: { in: ids.slice(i, i + READ_BACK_SLICE) } } })) byId.set(row.id, row);
      }
      // In the order given (rows created together share a createdAt).
      return ids.map((id) => byId.get(id)!);
    },
  }),
  setKeyStatus: t.prismaField({
    type: 'ApiKey',
    args: {
      id: t.arg.id({ required: true }),
      status: t.arg({ type: KeyStatusEnum, required: true }),
      until: t.arg({ type: 'DateTime', description: 'For DISABLED: when the key returns by itself.' }),
      reason: t.arg.string(),
    },
    resolve: async (query, _root, args, ctx) => {
      await ctx.services.keys.setStatus(String(args.id), { status: args.status, until: args.until ?? null, reason: args.reason ?? null });
      return ctx.services.prisma.apiKey.findUniqueOrThrow({ ...query, where: { id: String(args.id) } });
    },
  }),
  deleteKey: t.field({
    type: 'ID',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => (await ctx.services.keys.remove(String(args.id))).id,
  }),
}));
