import { builder } from '../builder.ts';
import { parseJson } from '../../db/json-column.ts';

export const AccessTokenType = builder.prismaObject('AccessToken', {
  description: 'A client token for the proxy. Only its hash is stored; the token is shown once, at creation.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix'),
    upstreamIds: t.field({ type: ['ID'], select: { upstreamIds: true }, resolve: (a) => parseJson<string[]>(a.upstreamIds, []) }),
    enabled: t.exposeBoolean('enabled'),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const CreatedAccessToken = builder.objectRef<{ token: string; accessToken: { id: string } }>('CreatedAccessToken').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'The token itself. Shown only here; store it now.' }),
    accessToken: t.prismaField({
      type: 'AccessToken',
      resolve: (query, parent, _args, ctx) => ctx.services.prisma.accessToken.findUniqueOrThrow({ ...query, where: { id: parent.accessToken.id } }),
    }),
  }),
});

const CreateAccessTokenInput = builder.inputType('CreateAccessTokenInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    upstreamIds: t.idList({ description: 'Upstreams this token may use; empty or omitted means all.' }),
  }),
});

builder.queryFields((t) => ({
  accessTokens: t.prismaField({
    type: ['AccessToken'],
    resolve: (query, _root, _args, ctx) => ctx.services.prisma.accessToken.findMany({ ...query, orderBy: { createdAt: 'asc' } }),
  }),
}));

builder.mutationFields((t) => ({
  createAccessToken: t.field({
    type: CreatedAccessToken,
    args: { input: t.arg({ type: CreateAccessTokenInput, required: true }) },
    resolve: (_root, args, ctx) =>
      ctx.services.tokens.create({ name: args.input.name, upstreamIds: args.input.upstreamIds?.map(String) ?? [] }),
  }),
  revokeAccessToken: t.prismaField({
    type: 'AccessToken',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      await ctx.services.tokens.revoke(String(args.id));
      return ctx.services.prisma.accessToken.findUniqueOrThrow({ ...query, where: { id: String(args.id) } });
    },
  }),
  deleteAccessToken: t.field({
    type: 'ID',
    description: 'Deletes a token (revokeAccessToken keeps it on record); returns its id.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => (await ctx.services.tokens.remove(String(args.id))).id,
  }),
}));
