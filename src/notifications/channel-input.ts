import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { UserInputError } from '../errors.ts';
import { NOTIFICATION_EVENTS, NOTIFICATION_KINDS } from './notice.ts';

export const DEFAULT_MIN_INTERVAL_SECONDS = 300;
const WEEK_SECONDS = 7 * 86_400;

export const channelInputSchema = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200),
  kind: z.enum(NOTIFICATION_KINDS),
  url: z
    .string()
    .trim()
    .max(2000)
    .url('must be an http(s) URL')
    .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')
    .nullish(),
  secret: z.string().trim().max(200).nullish(),
  emailTo: z.array(z.string().trim().email('must be an email address')).max(50).nullish(),
  events: z.array(z.enum(NOTIFICATION_EVENTS)).min(1, 'name at least one event').max(NOTIFICATION_EVENTS.length * 2),
  upstreamIds: z.array(z.string().min(1)).max(1000).nullish(),
  minIntervalSeconds: z.number().int('must be a whole number').min(0).max(WEEK_SECONDS).nullish(),
  enabled: z.boolean().nullish(),
});
export type ChannelInput = z.infer<typeof channelInputSchema>;

/** A channel as validated and ready to store (secret still in clear). */
export interface ChannelFields {
  name: string;
  kind: (typeof NOTIFICATION_KINDS)[number];
  url: string | null;
  secret: string | null;
  emailTo: string[];
  events: string[];
  upstreamIds: string[];
  minIntervalSeconds: number;
  enabled: boolean;
}

/** A fresh Standard Webhooks secret: whsec_ and 32 random bytes in base64. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function checkSecret(secret: string): void {
  if (!secret.startsWith('whsec_')) throw new UserInputError('input.secret: must be a Standard Webhooks secret (whsec_ and base64)', 'input.secret');
  const bytes = Buffer.from(secret.slice('whsec_'.length), 'base64');
  if (bytes.length < 24 || bytes.length > 64) throw new UserInputError('input.secret: the key after whsec_ must be 24 to 64 bytes of base64', 'input.secret');
  new Webhook(secret);
}

/**
 * The rules across fields: a webhook needs its URL (and gets a secret), an
 * email channel needs addresses and a configured SMTP server, and neither
 * takes the other's fields. `smtp` names the missing setting, if any.
 */
export function toChannelFields(input: ChannelInput, smtpMissing: string | null): ChannelFields {
  const emailTo = [...new Set(input.emailTo ?? [])];
  if (input.kind === 'WEBHOOK') {
    if (!input.url) throw new UserInputError('input.url: a WEBHOOK channel needs a URL', 'input.url');
    if (emailTo.length) throw new UserInputError('input.emailTo: only EMAIL channels take addresses', 'input.emailTo');
    if (input.secret) checkSecret(input.secret);
  } else {
    if (smtpMissing) throw new UserInputError(`input.kind: EMAIL channels need ${smtpMissing} to be set on the gateway`, 'input.kind');
    if (!emailTo.length) throw new UserInputError('input.emailTo: an EMAIL channel needs at least one address', 'input.emailTo');
    if (input.url) throw new UserInputError('input.url: only WEBHOOK channels take a URL', 'input.url');
    if (input.secret) throw new UserInputError('input.secret: only WEBHOOK channels take a secret', 'input.secret');
  }
  return {
    name: input.name,
    kind: input.kind,
    url: input.kind === 'WEBHOOK' ? input.url! : null,
    secret: input.kind === 'WEBHOOK' ? (input.secret ?? null) : null,
    emailTo,
    events: [...new Set(input.events)],
    upstreamIds: [...new Set(input.upstreamIds ?? [])],
    minIntervalSeconds: input.minIntervalSeconds ?? DEFAULT_MIN_INTERVAL_SECONDS,
    enabled: input.enabled ?? true,
  };
}
