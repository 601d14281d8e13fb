import { z } from 'zod';
import { isSafeHeaderName, isSafeHeaderValue } from '../upstream-http/headers.ts';
import { checkQuotaSchedule } from '../keys/quota-schedule.ts';
import { AUTH_TYPES, BODY_LOGGING_MODES, KEY_STRATEGIES } from '../state/types.ts';
import { scriptSecretsSchema } from '../scripts/script-secrets.ts';

const ms = (max: number) => z.number().int().min(1).max(max);

const headerMap = z
  .record(z.string(), z.string())
  .superRefine((headers, ctx) => {
    for (const [name, value] of Object.entries(headers)) {
      if (!isSafeHeaderName(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'not a valid header name' });
      else if (!isSafeHeaderValue(value)) ctx.addIssue({ code: 'custom', path: [name], message: 'header values cannot contain CR, LF or other control characters' });
    }
  });

const auth = z
  .object({ type: z.enum(AUTH_TYPES), name: z.string().min(1).max(100).nullish() })
  .superRefine((a, ctx) => {
    if (a.type === 'BEARER') return;
    if (!a.name) ctx.addIssue({ code: 'custom', path: ['name'], message: `is required for ${a.type} auth` });
    else if (!isSafeHeaderName(a.name)) ctx.addIssue({ code: 'custom', path: ['name'], message: 'must be a valid header or parameter name' });
  });

const probe = z.object({
  method: z.enum(['GET', 'POST', 'HEAD']).default('GET'),
  path: z.string().startsWith('/', 'must start with /').max(2000),
  body: z.string().max(100_000).nullish(),
  expectStatus: z.number().int().min(100).max(599).default(200),
});

const baseUrl = z
  .string()
  .max(2000)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password && !url.search && !url.hash;
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL without credentials, query or fragment');

/** Every upstream setting; creation requires name and baseUrl, updates take any subset. */
export const upstreamFields = {
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'use 1-63 letters, digits, - or _ (URL-safe), starting with a letter or digit'),
  baseUrl,
  enabled: z.boolean(),
  strategy: z.enum(KEY_STRATEGIES),
  auth,
  headers: headerMap,
  connectTimeoutMs: ms(600_000),
  timeoutMs: ms(3_600_000),
  bodyTimeoutMs: ms(3_600_000),
  deadlineMs: ms(3_600_000),
  maxRetries: z.number().int().min(0).max(10),
  retryBaseMs: z.number().int().min(0).max(60_000),
  retryMaxMs: z.number().int().min(0).max(600_000),
  retryOnStatus: z.array(z.number().int().min(100).max(599)).max(100),
  maxBufferedBodyBytes: z.number().int().min(0).max(1024 * 1024 * 1024),
  bodyLogging: z.enum(BODY_LOGGING_MODES),
  bodyLogMaxBytes: z.number().int().min(0).max(16 * 1024 * 1024),
  allowAnonymous: z.boolean(),
  maxEjectionPercent: z.number().int().min(0).max(100),
  modelPath: z.string().min(1).max(500).nullish(),
  waitForKeyMs: z.number().int().min(0).max(600_000),
  injectStreamUsage: z.boolean(),
  probe: probe.nullish(),
  // Checked when saved so a rule disabling "until the quota reset" never meets a schedule that cannot be read.
  quotaResetCron: z
    .string()
    .min(1)
    .max(200)
    .superRefine((pattern, ctx) => {
      const problem = checkQuotaSchedule(pattern, 'UTC');
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .nullish(),
  quotaResetTimezone: z
    .string()
    .min(1)
    .max(100)
    .superRefine((zone, ctx) => {
      const problem = checkQuotaSchedule('0 0 * * *', zone);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .nullish(),
  respectProviderLimits: z.boolean(),
  // Compiled and run once against a sample request when saved (scripts/script-check.ts, called by the services).
  headerScript: z.string().trim().min(1, 'is empty (use null to remove the script)').max(20_000).nullish(),
  scriptSecrets: scriptSecretsSchema.nullish(),
  scriptCanReadKey: z.boolean(),
};

export const createUpstreamSchema = z
  .object(upstreamFields)
  .partial()
  .required({ name: true, baseUrl: true });
export const updateUpstreamSchema = z.object(upstreamFields).partial();
export type UpstreamInput = z.infer<typeof updateUpstreamSchema>;

/** Maps validated input to columns (lists and objects stored as JSON text). */
export function upstreamColumns(input: UpstreamInput) {
  // scriptSecrets are encrypted by the caller (scripts/script-save.ts), never stored as given.
  const { auth: a, headers, retryOnStatus, probe: p, scriptSecrets: _secrets, ...rest } = input;
  return {
    ...rest,
    ...(a ? { authType: a.type, authName: a.type === 'BEARER' ? null : (a.name ?? null) } : {}),
    ...(headers !== undefined ? { headers: JSON.stringify(headers) } : {}),
    ...(retryOnStatus !== undefined ? { retryOnStatus: JSON.stringify(retryOnStatus) } : {}),
    ...(p !== undefined ? { probe: p ? JSON.stringify(p) : null } : {}),
    // Names are unique regardless of case; the proxy route still matches the stored name exactly.
    ...(rest.name !== undefined ? { nameKey: upstreamNameKey(rest.name) } : {}),
  };
}

export function upstreamNameKey(name: string): string {
  return name.toLowerCase();
}
