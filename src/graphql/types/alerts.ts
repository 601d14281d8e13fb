import { pipe, filter } from 'graphql-yoga';
import { builder } from '../builder.ts';
import { boundedIterator } from '../bounded-iterator.ts';
import type { AlertStored } from '../../events/bus.ts';
import type { Alert } from '../../generated/prisma/client.ts';
import { SUBSCRIPTION_BUFFER } from './subscriptions.ts';

const MAX_ALERTS = 500;

const AlertType = builder.prismaObject('Alert', {
  description: "A rule's ALERT: which rule, upstream and key (name and fingerprint, never the key) and the request that set it off.",
  fields: (t) => ({
    id: t.exposeID('id'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    ruleId: t.exposeID('ruleId', { nullable: true }),
    ruleName: t.exposeString('ruleName'),
    upstreamId: t.exposeID('upstreamId', { nullable: true }),
    upstreamName: t.exposeString('upstreamName', { nullable: true }),
    keyId: t.exposeID('keyId', { nullable: true }),
    keyName: t.exposeString('keyName', { nullable: true }),
    fingerprint: t.exposeString('fingerprint', { nullable: true }),
    requestId: t.exposeString('requestId', { nullable: true }),
    status: t.exposeInt('status', { nullable: true, description: 'The upstream response status that fired the rule.' }),
    message: t.exposeString('message'),
  }),
});

builder.queryFields((t) => ({
  alerts: t.prismaField({
    type: ['Alert'],
    description: `Stored rule alerts, newest first; first defaults to 50 (at most ${MAX_ALERTS}).`,
    args: { first: t.arg.int(), upstreamId: t.arg.id() },
    resolve: (query, _root, args, ctx) =>
      ctx.services.prisma.alert.findMany({
        ...query,
        where: args.upstreamId ? { upstreamId: String(args.upstreamId) } : {},
        orderBy: { id: 'desc' },
        take: Math.min(Math.max(args.first ?? 50, 1), MAX_ALERTS),
      }),
  }),
}));

builder.subscriptionFields((t) => ({
  alertRaised: t.field({
    type: AlertType,
    description: 'Each rule alert once it is stored (a moment after the response that fired it).',
    args: { upstreamId: t.arg.id() },
    subscribe: (_root, args, ctx) => {
      const upstreamId = args.upstreamId?.toString();
      return boundedIterator(
        pipe(
          ctx.services.events.subscribe('alert:stored'),
          filter((a: AlertStored) => !upstreamId || a.upstreamId === upstreamId),
        ),
        SUBSCRIPTION_BUFFER,
        {
          onFirstDrop: () => ctx.services.log.warn({ subscription: 'alertRaised', buffer: SUBSCRIPTION_BUFFER }, 'slow subscriber: dropping events'),
          onClose: (dropped) => ctx.services.log.warn({ subscription: 'alertRaised', dropped }, 'slow subscriber closed; events were dropped'),
        },
      );
    },
    resolve: (a: AlertStored): Alert => ({ ...a, createdAt: new Date(a.createdAt) }),
  }),
}));
