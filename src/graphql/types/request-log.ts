import { builder } from '../builder.ts';
import { requestLogWhere } from '../../admin/request-log-filter.ts';
import { newestFirstById } from '../keyset.ts';

const BYTES_DESCRIPTION = (what: string) =>
  `Bytes of the ${what}. A Float, not an Int: GraphQL's Int is 32-bit and stops at 2 GiB, while a Float holds every whole number up to 2^53 (8 PiB) exactly, and clients read it as a plain number.`;

export const RequestLogType = builder.prismaObject('RequestLog', {
  description: 'One client request through the proxy. Secrets are redacted before a row is written.',
  fields: (t) => ({
    id: t.exposeID('id'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    requestId: t.exposeString('requestId'),
    method: t.exposeString('method'),
    path: t.exposeString('path'),
    status: t.exposeInt('status'),
    outcome: t.exposeString('outcome'),
    latencyMs: t.exposeInt('latencyMs'),
    overheadMs: t.exposeFloat('overheadMs'),
    attempts: t.exposeInt('attempts'),
    // Stored as 64-bit integers; GraphQL's Int is 32-bit and would refuse a response over 2 GiB.
    bytesIn: t.float({ description: BYTES_DESCRIPTION('request body'), resolve: (log) => Number(log.bytesIn) }),
    bytesOut: t.float({ description: BYTES_DESCRIPTION('response body'), resolve: (log) => Number(log.bytesOut) }),
    clientIp: t.exposeString('clientIp', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    model: t.exposeString('model', { nullable: true }),
    stream: t.exposeBoolean('stream'),
    promptTokens: t.exposeInt('promptTokens', { nullable: true }),
    completionTokens: t.exposeInt('completionTokens', { nullable: true }),
    totalTokens: t.exposeInt('totalTokens', { nullable: true }),
    // No `select`: scalars are always loaded, and a row published to requestLogged must not trigger a query for them.
    matchedRules: t.field({ type: ['ID'], resolve: (log) => (log.matchedRules ? log.matchedRules.split(',') : []) }),
    requestBody: t.exposeString('requestBody', { nullable: true }),
    responseBody: t.exposeString('responseBody', { nullable: true }),
    bodyTruncated: t.exposeBoolean('bodyTruncated'),
    // `resolve` serves rows no query loaded (those published to requestLogged); a listed row's relation comes with its query.
    upstream: t.relation('upstream', { nullable: true, resolve: (query, log, _args, ctx) => ctx.relations.load('Upstream', ctx.services.prisma.upstream as never, query, log.upstreamId) }),
    key: t.relation('key', { nullable: true, resolve: (query, log, _args, ctx) => ctx.relations.load('ApiKey', ctx.services.prisma.apiKey as never, query, log.keyId) }),
    accessToken: t.relation('accessToken', { nullable: true, resolve: (query, log, _args, ctx) => ctx.relations.load('AccessToken', ctx.services.prisma.accessToken as never, query, log.accessTokenId) }),
  }),
});

const RequestLogFilterInput = builder.inputType('RequestLogFilter', {
  fields: (t) => ({
    requestId: t.string({ description: "One request: the x-request-id its response carried, or a key event's requestId." }),
    upstreamId: t.id(),
    keyId: t.id(),
    accessTokenId: t.id(),
    statusMin: t.int({ description: 'Lowest status, inclusive.' }),
    statusMax: t.int({ description: 'Highest status, inclusive.' }),
    from: t.field({ type: 'DateTime', description: 'Earliest createdAt, inclusive.' }),
    to: t.field({ type: 'DateTime', description: 'Latest createdAt, inclusive.' }),
    matchedRuleId: t.id({ description: 'Only requests this rule matched.' }),
    errorsOnly: t.boolean({ description: 'Only status >= 400 or a transport error.' }),
    text: t.string({ description: 'Case-insensitive text in the path or the error.' }),
  }),
});

/** A request log's id as stored (a positive 32-bit integer on both providers), or null when the ID cannot name a row. */
function storedLogId(id: string | number): number | null {
  const text = String(id);
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return null;
  const n = Number(text);
  return n <= 2_147_483_647 ? n : null;
}

builder.queryFields((t) => ({
  requestLog: t.prismaField({
    type: 'RequestLog',
    nullable: true,
    description: 'One request log by its id; null when there is none (deleted by retention, or never written).',
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => {
      const id = storedLogId(args.id);
      return id === null ? null : ctx.services.prisma.requestLog.findUnique({ ...query, where: { id } });
    },
  }),
  requestLogs: t.prismaConnection({
    type: 'RequestLog',
    cursor: 'id',
    defaultSize: 50,
    maxSize: 500,
    description: 'Request logs, newest first. Pages by id (keyset), so every page is an index range scan.',
    args: { filter: t.arg({ type: RequestLogFilterInput }) },
    resolve: (query, _root, args, ctx) =>
      ctx.services.prisma.requestLog.findMany(
        newestFirstById(
          query,
          requestLogWhere(
            args.filter && { ...args.filter, upstreamId: args.filter.upstreamId?.toString(), keyId: args.filter.keyId?.toString(), accessTokenId: args.filter.accessTokenId?.toString(), matchedRuleId: args.filter.matchedRuleId?.toString() },
            ctx.services.sql.provider,
          ),
        ),
      ),
  }),
}));
