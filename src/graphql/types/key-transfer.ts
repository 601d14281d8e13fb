import { builder } from '../builder.ts';
import type { ExportedKey, KeyExport } from '../../admin/key-export.ts';
import type { ImportProblem, KeyImportFormat } from '../../admin/key-import-parse.ts';
import type { KeyImportResult } from '../../admin/key-import.ts';
import { KeyImportFormatEnum, KeyStatusEnum } from './enums.ts';

const ImportProblemType = builder.objectRef<ImportProblem>('KeyImportProblem').implement({
  description: 'A rejected line. The reason never repeats the line (it may hold a secret).',
  fields: (t) => ({
    line: t.exposeInt('line', { description: '1-based line number (LINES, CSV) or array position (JSON).' }),
    reason: t.exposeString('reason'),
  }),
});

const ImportResultType = builder.objectRef<KeyImportResult>('KeyImportResult').implement({
  fields: (t) => ({
    added: t.exposeInt('added'),
    skipped: t.exposeInt('skipped', { description: 'Keys already in the pool or repeated in the text.' }),
    invalid: t.exposeInt('invalid'),
    problems: t.field({ type: [ImportProblemType], description: 'The rejected lines, at most 1000 (invalid has the full count).', resolve: (r) => r.problems }),
  }),
});

const ExportedKeyType = builder.objectRef<ExportedKey>('ExportedKey').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    fingerprint: t.exposeString('fingerprint'),
    status: t.field({ type: KeyStatusEnum, resolve: (k) => k.status }),
    weight: t.exposeInt('weight'),
    quota: t.exposeInt('quota', { nullable: true }),
    value: t.exposeString('value', { nullable: true, description: 'The secret; only with includeSecrets: true.' }),
  }),
});

const KeyExportType = builder.objectRef<KeyExport>('KeyExport').implement({
  fields: (t) => ({
    upstreamId: t.exposeID('upstreamId'),
    upstreamName: t.exposeString('upstreamName'),
    includeSecrets: t.exposeBoolean('includeSecrets'),
    keys: t.field({ type: [ExportedKeyType], resolve: (e) => e.keys }),
    csv: t.exposeString('csv', { nullable: true, description: 'value,name,weight,quota as importKeys(format: CSV) reads it; only with secrets.' }),
  }),
});

builder.mutationFields((t) => ({
  importKeys: t.field({
    type: ImportResultType,
    description: 'Bulk import. Keys already in the pool are skipped; invalid lines are reported and the rest imported. Pass the text as a variable.',
    args: {
      upstreamId: t.arg.id({ required: true }),
      text: t.arg.string({ required: true }),
      format: t.arg({ type: KeyImportFormatEnum, defaultValue: 'LINES' }),
    },
    resolve: (_root, args, ctx) => ctx.services.importKeys(String(args.upstreamId), args.text, (args.format ?? 'LINES') as KeyImportFormat),
  }),
  // A mutation, not a query: with includeSecrets it reads secrets, and that is logged.
  exportKeys: t.field({
    type: KeyExportType,
    description: 'An upstream\'s keys: fingerprints only, unless includeSecrets is true.',
    args: { upstreamId: t.arg.id({ required: true }), includeSecrets: t.arg.boolean({ defaultValue: false }) },
    resolve: (_root, args, ctx) => ctx.services.exportKeys(String(args.upstreamId), args.includeSecrets === true),
  }),
}));
