// The in-memory shapes the hot path works with. The database rows are mapped
// into these once (at boot, and when an event says something changed), so the
// proxy never waits for the database.

export const KEY_STATUSES = ['ACTIVE', 'DISABLED', 'BANNED', 'EXHAUSTED'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

export const KEY_STRATEGIES = ['ROUND_ROBIN', 'RANDOM', 'WEIGHTED'] as const;
export type KeyStrategy = (typeof KEY_STRATEGIES)[number];

export const AUTH_TYPES = ['BEARER', 'HEADER', 'QUERY'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

export const BODY_LOGGING_MODES = ['OFF', 'ERRORS', 'ALL'] as const;
export type BodyLogging = (typeof BODY_LOGGING_MODES)[number];

/** Who caused a key state change; recorded on every KeyEvent. */
export const ACTORS = ['RULE', 'ADMIN', 'QUOTA', 'JOB', 'TIMER'] as const;
export type Actor = (typeof ACTORS)[number];

export interface UpstreamProbe {
  method: string;
  path: string;
  body: string | null;
  expectStatus: number;
}

export interface UpstreamConfig {
  id: string;
  name: string;
  /** Absolute http(s) URL; may carry a base path (kept when forwarding). */
  baseUrl: string;
  enabled: boolean;
  strategy: KeyStrategy;
  authType: AuthType;
  /** Header name for HEADER, query parameter for QUERY; ignored for BEARER. */
  authName: string | null;
  /** Extra static headers sent upstream (validated free of CR/LF when saved). */
  headers: Record<string, string>;
  connectTimeoutMs: number;
  /** Time to wait for the upstream's response headers. */
  timeoutMs: number;
  /** Longest silence allowed between two body chunks. */
  bodyTimeoutMs: number;
  /** Overall deadline for one client request, all attempts included. */
  deadlineMs: number;
  maxRetries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Upstream statuses that make the proxy try another key. */
  retryOnStatus: number[];
  /** Request bodies up to this size are buffered so they can be resent. */
  maxBufferedBodyBytes: number;
  bodyLogging: BodyLogging;
  bodyLogMaxBytes: number;
  allowAnonymous: boolean;
  /** Share (0-100) of this upstream's keys that rules may have disabled at once. */
  maxEjectionPercent: number;
  /** JSONPath into the request body naming the model; null means `$.model`. */
  modelPath: string | null;
  /** When every key is cooling, wait up to this long for one to come back (0: fail at once). */
  waitForKeyMs: number;
  /** Add `stream_options.include_usage` to streamed OpenAI-style chat requests. */
  injectStreamUsage: boolean;
  probe: UpstreamProbe | null;
  /** Cron expression for this upstream's quota reset; null uses the global schedule. */
  quotaResetCron: string | null;
  quotaResetTimezone: string | null;
  /** Read the provider's rate-limit headers and skip a key whose remaining budget is zero until its reset. */
  respectProviderLimits: boolean;
  /** Body of the sandboxed header script (src/scripts/); its secrets are not part of the config. */
  headerScript: string | null;
  scriptCanReadKey: boolean;
}

export interface ApiKeyState {
  id: string;
  upstreamId: string;
  name: string;
  /** The decrypted secret. Lives only in memory; never logged or serialised. */
  secret: string;
  fingerprint: string;
  status: KeyStatus;
  /** Epoch ms when a DISABLED key returns; null means until re-enabled by hand. */
  disabledUntil: number | null;
  statusReason: string | null;
  weight: number;
  /** Requests allowed per quota period; null is unlimited. */
  quotaLimit: number | null;
  used: number;
  /**
   * Cluster mode: requests left in this instance's block of the quota
   * (keys/quota-lease.ts); a limited key is offered only while it is above 0.
   * null for a single instance, where `used` alone decides.
   */
  leaseLeft: number | null;
  quotaResetAt: number | null;
  /** model -> epoch ms until which this key must not serve that model. */
  modelCooldowns: Map<string, number>;
  /** How many times rules disabled this key recently (drives escalation). */
  disableCount: number;
}

export type JsonScalar = string | number | boolean | null;

export type RuleCondition =
  | { status: { equals?: number; in?: number[]; min?: number; max?: number } }
  | { body: { contains?: string; regex?: string; ignoreCase?: boolean } }
  | {
      jsonPath: {
        path: string;
        equals?: JsonScalar;
        in?: JsonScalar[];
        exists?: boolean;
        gt?: number;
        lt?: number;
        regex?: string;
      };
    }
  | { header: { name: string; equals?: string; contains?: string; regex?: string; exists?: boolean } }
  | { latencyMs: { gt?: number; lt?: number } }
  | { all: RuleCondition[] }
  | { any: RuleCondition[] }
  | { not: RuleCondition };

export const RULE_ACTIONS = ['DISABLE_KEY', 'BAN_KEY', 'ALERT', 'LOG'] as const;
export type RuleActionType = (typeof RULE_ACTIONS)[number];

/** What a rule's subject is: the key, or the key for one model only. */
export const RULE_SCOPES = ['KEY', 'KEY_MODEL'] as const;
export type RuleScope = (typeof RULE_SCOPES)[number];

/** How long DISABLE_KEY lasts. */
export const DISABLE_MODES = ['DURATION', 'QUOTA_RESET', 'MANUAL'] as const;
export type DisableMode = (typeof DISABLE_MODES)[number];

export interface RuleDefinition {
  id: string;
  /** null: a global rule that applies to every upstream. */
  upstreamId: string | null;
  name: string;
  condition: RuleCondition;
  actions: RuleActionType[];
  /** Matches needed within windowSeconds (or in a row when consecutive) before the rule fires. */
  threshold: number;
  windowSeconds: number;
  consecutive: boolean;
  /** After firing, the rule does not fire again for the same subject for this long. */
  cooldownSeconds: number;
  disableMode: DisableMode;
  disableForSeconds: number | null;
  /** Each repeated disable of the same key lasts base × count, capped at maxDisableSeconds. */
  escalate: boolean;
  maxDisableSeconds: number;
  scope: RuleScope;
  /** Lower runs first. */
  priority: number;
  enabled: boolean;
}

/** What rules see of one upstream response. Header names are lower-case. */
export interface ResponseSample {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The captured (bounded) body text, or null when not captured yet. */
  body: string | null;
  latencyMs: number;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface AccessTokenState {
  id: string;
  name: string;
  /** SHA-256 hex of the token; the token itself is never stored. */
  tokenHash: string;
  /** Empty: every upstream. */
  upstreamIds: string[];
  enabled: boolean;
}
