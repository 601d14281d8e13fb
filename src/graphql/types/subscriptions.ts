import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { boundedIterator } from '../bounded-iterator.ts';
import type { KeyStateChange, RequestLogged } from '../../events/bus.ts';
import type { ApiKey, RequestLog, Rule } from '../../generated/prisma/client.ts';
import { isErrorLog } from '../../admin/request-log-filter.ts';
import { ActorEnum, KeyStatusEnum } from './enums.ts';
import { RequestLogType } from './request-log.ts';

/** Events a subscriber may have queued before newer ones are dropped (and counted). */
export const SUBSCRIPTION_BUFFER = 1000;

function bounded<T>(source: AsyncIterable<T>, ctx: GraphQLContext, subscription: string, accept: (item: T) => boolean) {
  return boundedIterator(
    source,
    SUBSCRIPTION_BUFFER,
    {
      onFirstDrop: () => ctx.services.log.warn({ subscription, buffer: SUBSCRIPTION_BUFFER }, 'slow subscriber: dropping events'),
      onClose: (dropped) => ctx.services.log.warn({ subscription, dropped }, 'slow subscriber closed; events were dropped'),
    },
    accept,
  );
}

/** The published row in the shape of a Prisma RequestLog row, so the object type's resolvers read it as one. */
function toRow(event: RequestLogged): RequestLog {
  return { ...event, createdAt: new Date(event.createdAt), bytesIn: BigInt(event.bytesIn), bytesOut: BigInt(event.bytesOut) };
}

export const KeyStateChangeType = builder.objectRef<KeyStateChange>('KeyStateChange').implement({
  description: 'A key changed state (or, with model set, was taken out for or returned to one model).',
  fields: (t) => ({
    key: t.prismaField({
      type: 'ApiKey',
      nullable: true,
      // Batched and shared by every subscriber of the event, like requestLogged's relations (published-relations.ts).
      resolve: (query, change, _args, ctx) => ctx.relations.load<ApiKey>('ApiKey', ctx.services.prisma.apiKey as never, query, change.keyId),
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
      resolve: (query, change, _args, ctx) => ctx.relations.load<Rule>('Rule', ctx.services.prisma.rule as never, query, change.ruleId),
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
      bounded(ctx.services.events.subscribe('apiKey:stateChanged'), ctx, 'keyStateChanged', (change: KeyStateChange) => !args.upstreamId || change.upstreamId === String(args.upstreamId)),
    resolve: (change) => change,
  }),
  requestLogged: t.field({
    type: RequestLogType,
    description: 'Each request log row as it is stored; filtered by upstream, key and errors (status >= 400 or a transport error).',
    args: { upstreamId: t.arg.id(), keyId: t.arg.id(), onlyErrors: t.arg.boolean() },
    subscribe: (_root, args, ctx) => {
      const upstreamId = args.upstreamId?.toString();
      const keyId = args.keyId?.toString();
      return bounded(
        ctx.services.events.subscribe('requestLog:created'),
        ctx,
        'requestLogged',
        (log: RequestLogged) => (!upstreamId || log.upstreamId === upstreamId) && (!keyId || log.keyId === keyId) && (!args.onlyErrors || isErrorLog(log)),
      );
    },
    resolve: (log: RequestLogged) => toRow(log),
  }),
}));
