import { builder } from '../builder.ts';
import { newestFirstById } from '../keyset.ts';
import { ActorEnum, KeyStatusEnum } from './enums.ts';

export const KeyEventType = builder.prismaObject('KeyEvent', {
  description: 'The audit trail: one row per key state change, whoever made it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    keyId: t.exposeID('keyId', { nullable: true }),
    keyName: t.exposeString('keyName'),
    from: t.expose('fromStatus', { type: KeyStatusEnum }),
    to: t.expose('toStatus', { type: KeyStatusEnum }),
    reason: t.exposeString('reason', { nullable: true }),
    actor: t.expose('actor', { type: ActorEnum }),
    requestId: t.exposeString('requestId', { nullable: true }),
    model: t.exposeString('model', { nullable: true }),
    disabledUntil: t.expose('disabledUntil', { type: 'DateTime', nullable: true }),
    key: t.relation('key', { nullable: true }),
    upstream: t.relation('upstream', { nullable: true }),
    rule: t.relation('rule', { nullable: true }),
  }),
});

builder.queryFields((t) => ({
  keyEvents: t.prismaConnection({
    type: 'KeyEvent',
    cursor: 'id',
    defaultSize: 50,
    maxSize: 500,
    description: 'The audit trail, newest first: one key, one upstream, or everything.',
    args: { keyId: t.arg.id(), upstreamId: t.arg.id() },
    resolve: (query, _root, args, ctx) =>
      ctx.services.prisma.keyEvent.findMany(
        newestFirstById(query, { ...(args.keyId ? { keyId: String(args.keyId) } : {}), ...(args.upstreamId ? { upstreamId: String(args.upstreamId) } : {}) }),
      ),
  }),
}));
