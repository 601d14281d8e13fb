import { z } from 'zod';
import { ACTORS, KEY_STATUSES } from '../state/types.ts';

// What crosses the thread boundary, both ways. The main thread parses every
// worker message with these schemas before it touches the in-memory state: a
// worker is our own code, but a bug there must not corrupt what the proxy reads.

export const JOB_NAMES = ['quota-reset', 'key-reenable', 'log-cleanup'] as const;
export const TEST_JOB_NAMES = ['test-throw', 'test-exit', 'test-hang'] as const;
export type JobName = (typeof JOB_NAMES)[number] | (typeof TEST_JOB_NAMES)[number];

/** `startup`: the catch-up run of quota-reset when the scheduler starts (a period may have ended while the gateway was down). */
export const JOB_TRIGGERS = ['schedule', 'manual', 'startup'] as const;
export type JobTrigger = (typeof JOB_TRIGGERS)[number];

export const countsSchema = z.record(z.string().max(64), z.union([z.number(), z.string().max(500), z.boolean()]));
export type JobCounts = z.infer<typeof countsSchema>;

/** The same shape as the bus's KeyStateChange: the main thread publishes it as is. */
export const keyStateChangeSchema = z.object({
  keyId: z.string(),
  upstreamId: z.string(),
  keyName: z.string(),
  fingerprint: z.string(),
  from: z.enum(KEY_STATUSES),
  to: z.enum(KEY_STATUSES),
  reason: z.string().nullable(),
  actor: z.enum(ACTORS),
  ruleId: z.string().nullable(),
  requestId: z.string().nullable(),
  model: z.string().nullable(),
  disabledUntil: z.number().nullable(),
  at: z.number(),
});

export const workerMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('keys-changed'),
    /** Keys whose rows the worker changed; `usedReset` when their quota count went back to 0. */
    keys: z.array(z.object({ keyId: z.string(), usedReset: z.boolean() })).max(10_000),
    /** The KeyEvent rows the worker stored, read back after its transaction committed. */
    events: z.array(keyStateChangeSchema).max(10_000),
  }),
  z.object({ type: z.literal('progress'), counts: countsSchema }),
  z.object({ type: z.literal('done'), counts: countsSchema }),
]);
export type WorkerMessage = z.infer<typeof workerMessageSchema>;
export type KeysChangedMessage = Extract<WorkerMessage, { type: 'keys-changed' }>;

/** Per-run input, passed as `workerData.run`. */
export const runDataSchema = z.object({
  job: z.string(),
  runId: z.number().int(),
  trigger: z.enum(JOB_TRIGGERS),
  database: z.discriminatedUnion('provider', [
    z.object({ provider: z.literal('sqlite'), file: z.string(), url: z.string() }),
    z.object({ provider: z.literal('postgres'), url: z.string() }),
  ]),
  /** base64 master key, only for key-reenable when some upstream has a probe (to decrypt the keys it probes). */
  masterKey: z.string().optional(),
  settings: z.object({
    retentionDays: z.number().int().positive(),
    cleanupBatchRows: z.number().int().positive(),
    /** The global quota schedule (env or Setting) and its time zone; upstreams may override both. */
    quotaSchedule: z.string(),
    timezone: z.string(),
    /** key-reenable leaves keys whose time passed less than this long ago to the in-process timers. */
    reenableGraceMs: z.number().int().nonnegative(),
  }),
});
export type RunData = z.infer<typeof runDataSchema>;
export type JobSettings = RunData['settings'];
