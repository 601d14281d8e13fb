import { builder } from '../builder.ts';
import { parseJson } from '../../db/json-column.ts';
import type { UpstreamProbe } from '../../state/types.ts';
import { countKeys } from '../../admin/key-counts.ts';
import { keyOrderBy, keyWhere } from '../../admin/key-query.ts';
import { AuthTypeEnum, BodyLoggingEnum, KeyOrderEnum, KeyStatusEnum, KeyStrategyEnum } from './enums.ts';
import { KeyCountsType } from './key-counts.ts';
import { scriptSecretNames } from '../../scripts/script-secrets.ts';

const AuthRef = builder.objectRef<{ type: 'BEARER' | 'HEADER' | 'QUERY'; name: string | null }>('UpstreamAuth').implement({
  fields: (t) => ({
    type: t.field({ type: AuthTypeEnum, resolve: (a) => a.type }),
    name: t.string({ nullable: true, resolve: (a) => a.name }),
  }),
});

const ProbeRef = builder.objectRef<UpstreamProbe>('UpstreamProbe').implement({
  fields: (t) => ({
    method: t.exposeString('method'),
    path: t.exposeString('path'),
    body: t.string({ nullable: true, resolve: (p) => p.body ?? null }),
    expectStatus: t.exposeInt('expectStatus'),
  }),
});

export const UpstreamType = builder.prismaObject('Upstream', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    baseUrl: t.exposeString('baseUrl'),
    enabled: t.exposeBoolean('enabled'),
    strategy: t.expose('strategy', { type: KeyStrategyEnum }),
    auth: t.field({ type: AuthRef, select: { authType: true, authName: true }, resolve: (u) => ({ type: u.authType, name: u.authName }) }),
    headers: t.field({ type: 'JSON', select: { headers: true }, resolve: (u) => parseJson(u.headers, {}) }),
    connectTimeoutMs: t.exposeInt('connectTimeoutMs'),
    timeoutMs: t.exposeInt('timeoutMs'),
    bodyTimeoutMs: t.exposeInt('bodyTimeoutMs'),
    deadlineMs: t.exposeInt('deadlineMs'),
    maxRetries: t.exposeInt('maxRetries'),
    retryBaseMs: t.exposeInt('retryBaseMs'),
    retryMaxMs: t.exposeInt('retryMaxMs'),
    retryOnStatus: t.field({ type: ['Int'], select: { retryOnStatus: true }, resolve: (u) => parseJson<number[]>(u.retryOnStatus, []) }),
    maxBufferedBodyBytes: t.exposeInt('maxBufferedBodyBytes'),
    bodyLogging: t.expose('bodyLogging', { type: BodyLoggingEnum }),
    bodyLogMaxBytes: t.exposeInt('bodyLogMaxBytes'),
    allowAnonymous: t.exposeBoolean('allowAnonymous'),
    maxEjectionPercent: t.exposeInt('maxEjectionPercent'),
    modelPath: t.exposeString('modelPath', { nullable: true }),
    waitForKeyMs: t.exposeInt('waitForKeyMs'),
    injectStreamUsage: t.exposeBoolean('injectStreamUsage'),
    probe: t.field({ type: ProbeRef, nullable: true, select: { probe: true }, resolve: (u) => parseJson<UpstreamProbe | null>(u.probe, null) }),
    quotaResetCron: t.exposeString('quotaResetCron', { nullable: true }),
    quotaResetTimezone: t.exposeString('quotaResetTimezone', { nullable: true }),
    respectProviderLimits: t.exposeBoolean('respectProviderLimits', { description: 'Skip a key whose provider-reported remaining requests or tokens reached zero, until the reported reset.' }),
    headerScript: t.exposeString('headerScript', { nullable: true, description: 'Body of the sandboxed function computing extra request headers.' }),
    scriptCanReadKey: t.exposeBoolean('scriptCanReadKey'),
    scriptSecretNames: t.field({
      type: ['String'],
      description: 'Names of the script secrets (env); their values are write-only.',
      select: { scriptSecrets: true },
      resolve: (u, _args, ctx) => ctx.services.secrets.scriptSecretNames(u.scriptSecrets),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    rules: t.relation('rules', { query: { orderBy: [{ priority: 'asc' }, { name: 'asc' }] } }),
    keyCounts: t.field({ type: KeyCountsType, resolve: (u, _args, ctx) => countKeys(ctx.services.state, u.id) }),
    keys: t.relatedConnection('keys', {
      cursor: 'id',
      maxSize: 1000,
      args: {
        status: t.arg({ type: KeyStatusEnum }),
        search: t.arg.string({ description: 'Case-insensitive text in the name or the fingerprint.' }),
        orderBy: t.arg({ type: KeyOrderEnum, description: 'Default CREATED_ASC.' }),
      },
      query: (args, ctx) => ({
        where: keyWhere({ status: args.status, search: args.search }, ctx.services.sql.provider),
        orderBy: keyOrderBy(args.orderBy),
      }),
    }),
  }),
});

const AuthInput = builder.inputType('UpstreamAuthInput', {
  fields: (t) => ({
    type: t.field({ type: AuthTypeEnum, required: true }),
    name: t.string({ description: 'Header name (HEADER) or query parameter (QUERY).' }),
  }),
});

const ProbeInput = builder.inputType('UpstreamProbeInput', {
  fields: (t) => ({
    method: t.string(),
    path: t.string({ required: true }),
    body: t.string(),
    expectStatus: t.int(),
  }),
});

function upstreamInputFields(required: boolean) {
  return (t: Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0]) => ({
    name: t.string({ required }),
    baseUrl: t.string({ required }),
    enabled: t.boolean(),
    strategy: t.field({ type: KeyStrategyEnum }),
    auth: t.field({ type: AuthInput }),
    headers: t.field({ type: 'JSON', description: 'Extra static headers: an object of name to value.' }),
    connectTimeoutMs: t.int(),
    timeoutMs: t.int({ description: 'How long to wait for the upstream response headers.' }),
    bodyTimeoutMs: t.int(),
    deadlineMs: t.int(),
    maxRetries: t.int(),
    retryBaseMs: t.int(),
    retryMaxMs: t.int(),
    retryOnStatus: t.intList(),
    maxBufferedBodyBytes: t.int(),
    bodyLogging: t.field({ type: BodyLoggingEnum }),
    bodyLogMaxBytes: t.int(),
    allowAnonymous: t.boolean(),
    maxEjectionPercent: t.int(),
    modelPath: t.string(),
    waitForKeyMs: t.int(),
    injectStreamUsage: t.boolean(),
    probe: t.field({ type: ProbeInput }),
    quotaResetCron: t.string(),
    quotaResetTimezone: t.string(),
    respectProviderLimits: t.boolean(),
    headerScript: t.string({ description: 'Body of a function of `request` returning an object of header name to value; null removes it. Checked in the sandbox when saved.' }),
    scriptSecrets: t.field({ type: 'JSON', description: 'Write-only object of name to value, the script\'s `env`; replaces the stored set, null clears it.' }),
    scriptCanReadKey: t.boolean({ description: 'Let the script read the key as request.key (default false).' }),
  });
}

const CreateUpstreamInput = builder.inputType('CreateUpstreamInput', { fields: upstreamInputFields(true) });
const UpdateUpstreamInput = builder.inputType('UpdateUpstreamInput', { fields: upstreamInputFields(false) });

/** GraphQL gives null for omitted fields; for updates only the given ones change. */
function given<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([k, v]) => v !== undefined && (v !== null || ['modelPath', 'probe', 'quotaResetCron', 'quotaResetTimezone', 'headerScript', 'scriptSecrets'].includes(k)))) as Partial<T>;
}

builder.queryFields((t) => ({
  upstreams: t.prismaField({
    type: ['Upstream'],
    resolve: (query, _root, _args, ctx) => ctx.services.prisma.upstream.findMany({ ...query, orderBy: { name: 'asc' } }),
  }),
  upstream: t.prismaField({
    type: 'Upstream',
    nullable: true,
    args: { id: t.arg.id(), name: t.arg.string() },
    resolve: (query, _root, args, ctx) => {
      if (args.id) return ctx.services.prisma.upstream.findUnique({ ...query, where: { id: String(args.id) } });
      if (args.name) return ctx.services.prisma.upstream.findUnique({ ...query, where: { name: args.name } });
      return null;
    },
  }),
}));

builder.mutationFields((t) => ({
  createUpstream: t.prismaField({
    type: 'Upstream',
    args: { input: t.arg({ type: CreateUpstreamInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const row = await ctx.services.upstreams.create(given(args.input));
      return ctx.services.prisma.upstream.findUniqueOrThrow({ ...query, where: { id: row.id } });
    },
  }),
  updateUpstream: t.prismaField({
    type: 'Upstream',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateUpstreamInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const row = await ctx.services.upstreams.update(String(args.id), given(args.input));
      return ctx.services.prisma.upstream.findUniqueOrThrow({ ...query, where: { id: row.id } });
    },
  }),
  deleteUpstream: t.field({
    type: 'ID',
    description: 'Deletes the upstream with its keys and rules; returns its id.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => (await ctx.services.upstreams.remove(String(args.id))).id,
  }),
}));
