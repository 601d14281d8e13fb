import { builder } from '../builder.ts';
import type { ConfigImportMode, ConfigImportResult, ImportCounts } from '../../admin/config-transfer.ts';
import { ConfigImportModeEnum } from './enums.ts';

const ImportCountsType = builder.objectRef<ImportCounts>('ImportCounts').implement({
  fields: (t) => ({ created: t.exposeInt('created'), updated: t.exposeInt('updated'), deleted: t.exposeInt('deleted') }),
});

const ConfigImportResultType = builder.objectRef<ConfigImportResult>('ConfigImportResult').implement({
  fields: (t) => ({
    upstreams: t.field({ type: ImportCountsType, resolve: (r) => r.upstreams }),
    rules: t.field({ type: ImportCountsType, resolve: (r) => r.rules }),
    accessTokens: t.field({ type: ImportCountsType, resolve: (r) => r.accessTokens }),
    rateLimits: t.field({ type: ImportCountsType, resolve: (r) => r.rateLimits }),
    notificationChannels: t.field({ type: ImportCountsType, resolve: (r) => r.notificationChannels }),
  }),
});

// Both are mutations, as the admin API contract lists them: the export carries
// access-token hashes and the whole setup, so it is not something to cache.
builder.mutationFields((t) => ({
  exportConfig: t.field({
    type: 'JSON',
    description:
      'Upstreams, rules, access-token metadata (token hashes, never tokens; no API keys: see exportKeys), rate limits and notification channels (webhook secrets written as null: they must be set on a new instance) as one JSON document for importConfig.',
    resolve: (_root, _args, ctx) => ctx.services.config.exportConfig(),
  }),
  importConfig: t.field({
    type: ConfigImportResultType,
    description: 'Applies an exportConfig document (an object or its JSON text) in one transaction: all of it or nothing.',
    args: { json: t.arg({ type: 'JSON', required: true }), mode: t.arg({ type: ConfigImportModeEnum, defaultValue: 'MERGE' }) },
    resolve: (_root, args, ctx) => ctx.services.config.importConfig(args.json, (args.mode ?? 'MERGE') as ConfigImportMode),
  }),
}));
