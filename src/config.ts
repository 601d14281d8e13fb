import { resolve } from 'node:path';
import { z } from 'zod';
import { DatabaseUrlError, parseDatabaseUrl, type DatabaseTarget } from './db/database-url.ts';
import { smtpUrlProblem } from './smtp-url.ts';

/** A bad setting; main prints `message` as one line and exits non-zero. */
export class ConfigError extends Error {
  constructor(readonly variable: string, reason: string) {
    super(`invalid ${variable}: ${reason}`);
  }
}

const int = (min: number, max: number) => z.coerce.number().int(`must be a whole number`).min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// Every setting, its default and its check. README's configuration table follows this list.
const schema = {
  PORT: int(0, 65535).default(8000),
  HOST: z.string().min(1).default('0.0.0.0'),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  KEYRELAY_DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z.string().min(1).optional(),
  KEYRELAY_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  KEYRELAY_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  KEYRELAY_GRAPHIQL: bool.optional(),
  KEYRELAY_INTROSPECTION: bool.optional(),
  KEYRELAY_ALLOWED_ORIGINS: z.string().default(''),
  KEYRELAY_TRUST_PROXY: bool.default(false),
  KEYRELAY_LOG_FLUSH_MS: int(10, 60_000).default(50),
  KEYRELAY_LOG_QUEUE_MAX: int(100, 10_000_000).default(50_000),
  KEYRELAY_SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  KEYRELAY_RETENTION_DAYS: int(1, 3650).default(30),
  KEYRELAY_TIMEZONE: z.string().default('UTC'),
  KEYRELAY_JOBS: bool.default(true),
  KEYRELAY_QUOTA_RESET_CRON: z.string().default('0 0 * * *'),
  KEYRELAY_KEY_REENABLE_INTERVAL: z.string().default('10m'),
  KEYRELAY_LOG_CLEANUP_CRON: z.string().default('0 2 * * *'),
  KEYRELAY_JOB_TIMEOUT_MS: int(1000, 86_400_000).default(600_000),
  /** Rows per DELETE the log cleanup starts with; it adapts the size to keep each statement short. */
  KEYRELAY_LOG_CLEANUP_BATCH: int(100, 100_000).default(2000),
  /** Registers the test-only jobs (test-throw, test-exit, test-hang) that fail on purpose. */
  KEYRELAY_TEST_JOBS: bool.default(false),
  /** How long a silent heartbeat keeps the database lease (one instance per database until cluster mode). */
  KEYRELAY_INSTANCE_LEASE_MS: int(1000, 600_000).default(10_000),
  /** Test only: skip the one-instance lease, for the suites that exercise several instances ahead of cluster mode. */
  KEYRELAY_TEST_SHARED_DATABASE: bool.default(false),
  KEYRELAY_MAX_REQUEST_BODY_BYTES: int(1024, 1024 * 1024 * 1024).default(100 * 1024 * 1024),
  KEYRELAY_GRAPHQL_MAX_BODY_BYTES: int(1024, 100 * 1024 * 1024).default(1024 * 1024),
  /** Keys with their own per-key metric series; later keys count under key="other". */
  KEYRELAY_METRICS_KEY_LABELS: int(0, 100_000).default(500),
  /** A config file (YAML or JSON, exportConfig's document plus keys) applied at every start. */
  KEYRELAY_CONFIG: z.string().min(1).optional(),
  /** Wall-clock limit for one header-script run (the sandbox's interrupt handler stops it). */
  KEYRELAY_SCRIPT_TIMEOUT_MS: int(1, 10_000).default(20),
  /** Memory limit of each upstream's header-script sandbox, in MiB. */
  KEYRELAY_SCRIPT_MEMORY_MB: int(1, 256).default(8),
  /** SMTP server for EMAIL notification channels, e.g. smtp://user:pass@host:587 (smtps:// for implicit TLS). */
  // Checked after parsing (smtpUrlProblem), so a bad value is never echoed: it holds the SMTP password.
  KEYRELAY_SMTP_URL: z.string().optional(),
  /** The From address of notification mails. */
  KEYRELAY_SMTP_FROM: z.string().min(3).optional(),
  /** How long one webhook attempt may take before it counts as failed. */
  KEYRELAY_WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(5000),
  /** First retry delay of a webhook; doubles per attempt (at most 5 attempts). */
  KEYRELAY_WEBHOOK_BACKOFF_MS: int(1, 600_000).default(1000),
  /** Notifications waiting to be sent per channel; beyond this they are dropped and counted in /metrics. */
  KEYRELAY_NOTIFY_QUEUE_MAX: int(1, 1_000_000).default(1000),
  /** Cluster mode: several instances share PostgreSQL and this Redis (events, counters, coordination). */
  // Never echoed in an error: the URL may hold Redis's password.
  KEYRELAY_REDIS_URL: z.string().optional(),
  /** Processes `npm start` runs on this machine's port (node:cluster); above 1 it needs cluster mode. */
  KEYRELAY_INSTANCES: int(1, 256).default(1),
};

/**
 * Settings whose value is a secret or may hold one (a password in a URL): an
 * error about them says what is wrong (length, format), never the value.
 */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set(['KEYRELAY_SECRET', 'KEYRELAY_ADMIN_TOKEN', 'KEYRELAY_SMTP_URL', 'KEYRELAY_REDIS_URL', 'DATABASE_URL']);

/** What a refused value was, for the error line: the value itself, or for a secret setting only its length. */
function shownValue(name: string, value: string | undefined): string {
  if (!SECRET_SETTINGS.has(name)) return `got ${JSON.stringify(value)}`;
  return value === undefined ? 'not set' : `got ${value.length} characters; the value is secret and not shown`;
}

/** A URL's scheme when the value plainly starts with one (`name://`); anything else may be a credential typed without it. */
function plainScheme(value: string): string | null {
  return /^([a-z][a-z0-9+.-]{0,19}):\/\//i.exec(value)?.[1] ?? null;
}

type Raw = { [K in keyof typeof schema]: z.infer<(typeof schema)[K]> };

export interface Config extends Raw {
  dataDir: string;
  database: DatabaseTarget;
  production: boolean;
  graphiql: boolean;
  introspection: boolean;
  allowedOrigins: string[];
  /** Unexpected GraphQL errors carry their message and stack (see errorDetailsWanted). */
  errorDetails: boolean;
  /** KEYRELAY_REDIS_URL is set: several instances share PostgreSQL and Redis. */
  cluster: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Error details are for a developer at this machine: NODE_ENV set to
 * development or test on purpose, or a gateway listening on loopback only.
 * The default (HOST=0.0.0.0, NODE_ENV unset) is reachable from the network,
 * so it masks them as production does.
 */
function errorDetailsWanted(env: NodeJS.ProcessEnv, host: string, production: boolean): boolean {
  if (production) return false;
  return env.NODE_ENV === 'development' || env.NODE_ENV === 'test' || LOOPBACK.has(host);
}

/** Why a Redis URL cannot be used, without repeating it (it may carry a password). */
function redisUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL (expected redis://[user:password@]host:port[/db])';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    const scheme = plainScheme(value);
    return `must start with redis:// or rediss://${scheme === null ? '' : ` (got ${scheme}://)`}`;
  }
  if (!url.hostname) return 'has no host';
  return null;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = {} as Record<string, unknown>;
  for (const [name, check] of Object.entries(schema)) {
    const value = env[name] === '' ? undefined : env[name];
    const parsed = (check as z.ZodType).safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigError(name, `${issue?.message ?? 'bad value'} (${shownValue(name, value)})`);
    }
    raw[name] = parsed.data;
  }
  const c = raw as Raw;
  const smtpProblem = smtpUrlProblem(c.KEYRELAY_SMTP_URL);
  if (smtpProblem) throw new ConfigError('KEYRELAY_SMTP_URL', smtpProblem);
  const dataDir = resolve(c.KEYRELAY_DATA_DIR);
  let database: DatabaseTarget;
  try {
    database = parseDatabaseUrl(c.DATABASE_URL ?? `file:${resolve(dataDir, 'keyrelay.db')}`);
  } catch (error) {
    if (error instanceof DatabaseUrlError) throw new ConfigError('DATABASE_URL', error.message);
    throw error;
  }
  const cluster = c.KEYRELAY_REDIS_URL !== undefined;
  if (cluster) {
    const problem = redisUrlProblem(c.KEYRELAY_REDIS_URL!);
    if (problem) throw new ConfigError('KEYRELAY_REDIS_URL', problem);
    if (database.provider !== 'postgres') throw new ConfigError('KEYRELAY_REDIS_URL', 'cluster mode needs PostgreSQL: set DATABASE_URL to a postgresql:// URL (SQLite is one process\'s file)');
    // A key file generated on one machine would leave every other instance unable to read the stored keys.
    if (!c.KEYRELAY_SECRET) throw new ConfigError('KEYRELAY_SECRET', 'cluster mode needs the same KEYRELAY_SECRET on every instance (the master key that encrypts stored keys)');
  }
  if (c.KEYRELAY_INSTANCES > 1 && !cluster) throw new ConfigError('KEYRELAY_INSTANCES', 'more than one instance needs cluster mode: set KEYRELAY_REDIS_URL and a PostgreSQL DATABASE_URL');
  const production = c.NODE_ENV === 'production';
  return {
    ...c,
    dataDir,
    database,
    production,
    graphiql: c.KEYRELAY_GRAPHIQL ?? !production,
    introspection: c.KEYRELAY_INTROSPECTION ?? !production,
    allowedOrigins: c.KEYRELAY_ALLOWED_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
    errorDetails: errorDetailsWanted(env, c.HOST, production),
    cluster,
  };
}
