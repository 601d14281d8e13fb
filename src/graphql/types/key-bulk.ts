import { builder } from '../builder.ts';
import { KeyStatusEnum } from './enums.ts';

builder.mutationFields((t) => ({
  setKeysStatus: t.prismaField({
    type: ['ApiKey'],
    description: 'setKeyStatus for many keys. Every id is checked first: one unknown id changes nothing.',
    args: {
      ids: t.arg.idList({ required: true }),
      status: t.arg({ type: KeyStatusEnum, required: true }),
      until: t.arg({ type: 'DateTime', description: 'For DISABLED: when the keys return by themselves.' }),
      reason: t.arg.string(),
    },
    resolve: async (query, _root, args, ctx) => {
      const ids = await ctx.services.keyBulk.setManyStatus({ ids: args.ids.map(String), status: args.status, until: args.until ?? null, reason: args.reason ?? null });
      return ctx.services.prisma.apiKey.findMany({ ...query, where: { id: { in: ids } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    },
  }),
  resetQuota: t.prismaField({
    type: ['ApiKey'],
    description: 'Sets the quota count to 0 for one key or every key of an upstream (give exactly one); EXHAUSTED keys become ACTIVE.',
    args: { keyId: t.arg.id(), upstreamId: t.arg.id() },
    resolve: async (query, _root, args, ctx) => {
      const target = { keyId: args.keyId?.toString(), upstreamId: args.upstreamId?.toString() };
      await ctx.services.keyBulk.resetQuota(target);
      const where = target.keyId ? { id: target.keyId } : { upstreamId: target.upstreamId };
      return ctx.services.prisma.apiKey.findMany({ ...query, where, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    },
  }),
}));
