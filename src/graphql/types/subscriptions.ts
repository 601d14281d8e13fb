import { pipe, filter } from 'graphql-yoga';
import { builder } from '../builder.ts';
import type { KeyStateChange } from '../../events/bus.ts';
import { ActorEnum, KeyStatusEnum } from './enums.ts';

export const KeyStateChangeType = builder.objectRef<KeyStateChange>('KeyStateChange').implement({
  description: 'A key changed state (or, with model set, was taken out for or returned to one model).',
  fields: (t) => ({
    key: t.prismaField({
      type: 'ApiKey',
      nullable: true,
      resolve: (query, change, _args, ctx) => ctx.services.prisma.apiKey.findUnique({ ...query, where: { id: change.keyId } }),
    }),
    keyId: t.exposeID('keyId'),
    upstreamId: t.exposeID('upstreamId'),
    keyName: t.exposeString('keyName'),
    fingerprint: t.exposeString('fingerprint'),
    from: t.field({ type: KeyStatusEnum, resolve: (c) => c.from }),
    to: t.field({ type: KeyStatusEnum, resolve: (c) => c.to }),
    reason: t.exposeString('reason', { nullable: true }),
    actor: t.field({ type: ActorEnum, resolve: (c) => c.actor }),
    rule: t.prismaField({
      type: 'Rule',
      nullable: true,
      resolve: (query, change, _args, ctx) => (change.ruleId ? ctx.services.prisma.rule.findUnique({ ...query, where: { id: change.ruleId } }) : null),
    }),
    requestId: t.exposeString('requestId', { nullable: true }),
    model: t.exposeString('model', { nullable: true }),
    disabledUntil: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.disabledUntil }),
    at: t.field({ type: 'DateTime', resolve: (c) => c.at }),
  }),
});

builder.subscriptionFields((t) => ({
  keyStateChanged: t.field({
    type: KeyStateChangeType,
    args: { upstreamId: t.arg.id() },
    subscribe: (_root, args, ctx) =>
      pipe(
        ctx.services.events.subscribe('apiKey:stateChanged'),
        filter((change: KeyStateChange) => !args.upstreamId || change.upstreamId === String(args.upstreamId)),
      ),
    resolve: (change) => change,
  }),
}));
