import { builder } from '../builder.ts';
import { parseJson } from '../../db/json-column.ts';
import { DELIVERY_STATUSES, NOTIFICATION_EVENTS, NOTIFICATION_KINDS, type NotificationEvent } from '../../notifications/notice.ts';
import { ConflictError } from '../../errors.ts';
import type { GraphQLContext } from '../context.ts';

const MAX_DELIVERIES = 500;

export const NotificationKindEnum = builder.enumType('NotificationKind', { values: NOTIFICATION_KINDS });
export const NotificationEventEnum = builder.enumType('NotificationEvent', {
  values: NOTIFICATION_EVENTS,
  description: 'UPSTREAM_DEPLETED: an upstream has no usable key left; UPSTREAM_RECOVERED: it has one again.',
});
const DeliveryStatusEnum = builder.enumType('DeliveryStatus', {
  values: DELIVERY_STATUSES,
  description: 'FOLDED: notices held back by the minimum interval, carried by the next notification of the same subject.',
});

builder.prismaObject('NotificationChannel', {
  description: 'Where notifications go. The webhook secret is shown once, when the channel is created, and never again.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    kind: t.field({ type: NotificationKindEnum, select: { kind: true }, resolve: (c) => c.kind }),
    url: t.exposeString('url', { nullable: true }),
    emailTo: t.field({ type: ['String'], select: { emailTo: true }, resolve: (c) => parseJson<string[]>(c.emailTo, []) }),
    events: t.field({ type: [NotificationEventEnum], select: { events: true }, resolve: (c) => parseJson<NotificationEvent[]>(c.events, []) }),
    upstreamIds: t.field({ type: ['ID'], description: 'Empty means every upstream.', select: { upstreamIds: true }, resolve: (c) => parseJson<string[]>(c.upstreamIds, []) }),
    minIntervalSeconds: t.exposeInt('minIntervalSeconds'),
    enabled: t.exposeBoolean('enabled'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.prismaObject('NotificationDelivery', {
  fields: (t) => ({
    id: t.exposeID('id'),
    channelId: t.exposeID('channelId'),
    event: t.field({ type: NotificationEventEnum, select: { event: true }, resolve: (d) => d.event as NotificationEvent }),
    subject: t.exposeString('subject', { description: 'event + upstream + key or rule: what the minimum interval applies to.' }),
    status: t.field({ type: DeliveryStatusEnum, select: { status: true }, resolve: (d) => d.status }),
    attempts: t.exposeInt('attempts'),
    error: t.exposeString('error', { nullable: true }),
    folded: t.exposeInt('folded', { description: 'How many notices of the same subject this one carries (held back by the minimum interval).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreatedNotificationChannel = builder.objectRef<{ secret: string | null; channel: { id: string } }>('CreatedNotificationChannel').implement({
  fields: (t) => ({
    secret: t.exposeString('secret', { nullable: true, description: 'The webhook secret (whsec_…), given or generated. Shown only here; store it now.' }),
    channel: t.prismaField({
      type: 'NotificationChannel',
      resolve: (query, parent, _args, ctx) => ctx.services.prisma.notificationChannel.findUniqueOrThrow({ ...query, where: { id: parent.channel.id } }),
    }),
  }),
});

const channelFields = (required: boolean) => (t: PothosInputFieldBuilder) => ({
  name: t.string({ required }),
  kind: t.field({ type: NotificationKindEnum, required }),
  url: t.string({ description: 'WEBHOOK: the http(s) URL to POST to.' }),
  secret: t.string({ description: 'WEBHOOK: a Standard Webhooks secret (whsec_…); generated when omitted at creation.' }),
  emailTo: t.stringList({ description: 'EMAIL: the addresses (needs KEYRELAY_SMTP_URL and KEYRELAY_SMTP_FROM).' }),
  events: t.field({ type: [NotificationEventEnum], required }),
  upstreamIds: t.idList({ description: 'Upstreams this channel hears about; empty or omitted means all.' }),
  minIntervalSeconds: t.int({ description: 'At most one notification per subject (event + upstream + key or rule) per this many seconds; default 300.' }),
  enabled: t.boolean(),
});
type PothosInputFieldBuilder = Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0];

const CreateInput = builder.inputType('CreateNotificationChannelInput', { fields: channelFields(true) });
const UpdateInput = builder.inputType('UpdateNotificationChannelInput', { fields: channelFields(false) });

builder.queryFields((t) => ({
  notificationChannels: t.prismaField({
    type: ['NotificationChannel'],
    resolve: (query, _root, _args, ctx) => ctx.services.prisma.notificationChannel.findMany({ ...query, orderBy: { createdAt: 'asc' } }),
  }),
  notificationDeliveries: t.prismaField({
    type: ['NotificationDelivery'],
    description: `Newest first; first defaults to 50 (at most ${MAX_DELIVERIES}).`,
    args: { channelId: t.arg.id(), first: t.arg.int() },
    resolve: (query, _root, args, ctx) =>
      ctx.services.prisma.notificationDelivery.findMany({
        ...query,
        where: args.channelId ? { channelId: String(args.channelId) } : {},
        orderBy: { id: 'desc' },
        take: Math.min(Math.max(args.first ?? 50, 1), MAX_DELIVERIES),
      }),
  }),
}));

const ids = (list: ReadonlyArray<string | number> | null | undefined) => list?.map(String);

builder.mutationFields((t) => ({
  createNotificationChannel: t.field({
    type: CreatedNotificationChannel,
    args: { input: t.arg({ type: CreateInput, required: true }) },
    resolve: (_root, args, ctx) => notificationsOf(ctx).channels.create({ ...args.input, upstreamIds: ids(args.input.upstreamIds) }),
  }),
  updateNotificationChannel: t.prismaField({
    type: 'NotificationChannel',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = String(args.id);
      await notificationsOf(ctx).channels.update(id, { ...args.input, upstreamIds: ids(args.input.upstreamIds) });
      return ctx.services.prisma.notificationChannel.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  deleteNotificationChannel: t.field({
    type: 'ID',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => notificationsOf(ctx).channels.remove(String(args.id)),
  }),
  testNotification: t.prismaField({
    type: 'NotificationDelivery',
    description: 'Sends a test notification on the channel now (no folding, retries as usual) and returns its delivery.',
    args: { channelId: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const delivery = await notificationsOf(ctx).test(String(args.channelId));
      return ctx.services.prisma.notificationDelivery.findUniqueOrThrow({ ...query, where: { id: delivery.id } });
    },
  }),
}));

function notificationsOf(ctx: GraphQLContext) {
  if (!ctx.notifications) throw new ConflictError('notifications are not available on this gateway');
  return ctx.notifications;
}
