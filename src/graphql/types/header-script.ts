import { z } from 'zod';
import { builder } from '../builder.ts';
import { NotFoundError } from '../../errors.ts';
import { parseInput } from '../../admin/validate.ts';
import { runScriptOnce, type SampleRequest } from '../../scripts/script-check.ts';
import { readScriptSecrets } from '../../scripts/script-secrets.ts';
import { UserInputError } from '../../errors.ts';

interface HeaderScriptResult {
  ok: boolean;
  headers: Record<string, string> | null;
  error: string | null;
  line: number | null;
  column: number | null;
  durationMs: number;
}

const HeaderScriptResultType = builder.objectRef<HeaderScriptResult>('HeaderScriptResult').implement({
  description: 'One run of a header script in the sandbox, nothing saved. Header values holding a script secret or the key are shown as [REDACTED].',
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    headers: t.field({ type: 'JSON', nullable: true, description: 'Header name to value, as the script returned them.', resolve: (r) => r.headers }),
    error: t.exposeString('error', { nullable: true }),
    line: t.exposeInt('line', { nullable: true, description: 'Line of the error in the script, from 1.' }),
    column: t.exposeInt('column', { nullable: true }),
    durationMs: t.exposeFloat('durationMs', { description: 'Compile and run together.' }),
  }),
});

const HeaderScriptRequestInput = builder.inputType('HeaderScriptRequestInput', {
  description: 'The request to run the script against; each field left out takes the sample request\'s value.',
  fields: (t) => ({
    method: t.string(),
    path: t.string({ description: 'Path and query as the upstream would see them.' }),
    headers: t.field({ type: 'JSON', description: 'An object of header name to value.' }),
    body: t.string(),
    model: t.string(),
    keyName: t.string(),
    keyFingerprint: t.string(),
    key: t.string({ description: 'Visible to the script as request.key only when the upstream sets scriptCanReadKey.' }),
    attempt: t.int(),
    now: t.float({ description: 'Epoch milliseconds.' }),
  }),
});

const sampleSchema = z.object({
  method: z.string().regex(/^[A-Za-z]{1,20}$/, 'must be an HTTP method').nullish(),
  path: z.string().startsWith('/', 'must start with /').max(8000).nullish(),
  headers: z.record(z.string(), z.string()).nullish(),
  body: z.string().max(1024 * 1024).nullish(),
  model: z.string().max(500).nullish(),
  keyName: z.string().max(500).nullish(),
  keyFingerprint: z.string().max(500).nullish(),
  key: z.string().max(4096).nullish(),
  attempt: z.number().int().min(1).max(100).nullish(),
  now: z.number().nonnegative().nullish(),
});

builder.queryField('testHeaderScript', (t) =>
  t.field({
    type: HeaderScriptResultType,
    description: "Runs a header script once in the sandbox, with an upstream's secrets and settings when upstreamId is given, without saving anything.",
    args: {
      script: t.arg.string({ required: true }),
      upstreamId: t.arg.id(),
      request: t.arg({ type: HeaderScriptRequestInput }),
    },
    resolve: async (_root, args, ctx) => {
      const { prisma, secrets, state } = ctx.services;
      const engine = state.scripts;
      if (engine === null) throw new UserInputError('script: header scripts are not available on this instance', 'script');
      if (args.script.length > 20_000) throw new UserInputError('script: is longer than 20000 characters', 'script');
      const sample = parseInput(sampleSchema, args.request ?? {}, 'request') as SampleRequest;
      let opts = { upstream: 'upstream', secrets: {} as Record<string, string>, canReadKey: false };
      if (args.upstreamId) {
        const row = await prisma.upstream.findUnique({ where: { id: String(args.upstreamId) } });
        if (!row) throw new NotFoundError(`no upstream with id ${args.upstreamId}`, 'upstreamId');
        opts = { upstream: row.name, secrets: secrets.scriptSecrets(row.scriptSecrets), canReadKey: row.scriptCanReadKey };
      }
      const outcome = runScriptOnce(engine, args.script, opts, sample);
      const hidden = [...Object.values(opts.secrets), ...(sample.key ? [sample.key] : [])];
      const headers = outcome.headers === null ? null : Object.fromEntries(Object.entries(outcome.headers).map(([n, v]) => [n, engine.redactor.redact(v, hidden)]));
      const error = outcome.error;
      return { ok: error === null, headers, error: error?.message ?? null, line: error?.line ?? null, column: error?.column ?? null, durationMs: outcome.durationMs };
    },
  }),
);
