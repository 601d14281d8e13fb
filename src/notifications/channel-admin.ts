import type { PrismaClient, NotificationChannel } from '../generated/prisma/client.ts';
import type { SecretCipher } from '../crypto/cipher.ts';
import { NotFoundError, UserInputError } from '../errors.ts';
import { parseInput } from '../admin/validate.ts';
import { parseJson } from '../db/json-column.ts';
import { channelInputSchema, generateWebhookSecret, toChannelFields, type ChannelFields } from './channel-input.ts';
import type { ChannelBook } from './channel-book.ts';

export interface ChannelAdminDeps {
  prisma: PrismaClient;
  cipher: SecretCipher;
  book: ChannelBook;
  /** The setting an EMAIL channel lacks (KEYRELAY_SMTP_URL or KEYRELAY_SMTP_FROM), or null when SMTP is configured. */
  smtpMissing: string | null;
}

function asInput(row: NotificationChannel) {
  return {
    name: row.name,
    kind: row.kind,
    url: row.url,
    emailTo: parseJson<string[]>(row.emailTo, []),
    events: parseJson<string[]>(row.events, []),
    upstreamIds: parseJson<string[]>(row.upstreamIds, []),
    minIntervalSeconds: row.minIntervalSeconds,
    enabled: row.enabled,
  };
}

/** The columns to store for a channel; `secret` undefined keeps the stored one, null clears it. */
export function toData(fields: ChannelFields, secret: string | null | undefined, cipher: SecretCipher) {
  return {
    name: fields.name,
    kind: fields.kind,
    url: fields.url,
    emailTo: JSON.stringify(fields.emailTo),
    events: JSON.stringify(fields.events),
    upstreamIds: JSON.stringify(fields.upstreamIds),
    minIntervalSeconds: fields.minIntervalSeconds,
    enabled: fields.enabled,
    // undefined keeps the stored secret; the webhook secret is stored encrypted like keys.
    ...(secret === undefined ? {} : { secret: secret === null ? null : cipher.encrypt(secret) }),
  };
}

/** Channel writes: validate (every field named on error), store with the secret encrypted, reload the in-memory book. */
export function channelAdmin(deps: ChannelAdminDeps) {
  const { prisma, cipher, book } = deps;

  async function checkUpstreams(ids: string[]): Promise<void> {
    if (!ids.length) return;
    const found = await prisma.upstream.findMany({ where: { id: { in: ids } }, select: { id: true } });
    const missing = ids.find((id) => !found.some((f) => f.id === id));
    if (missing) throw new NotFoundError(`no upstream with id ${missing}`, 'input.upstreamIds');
  }

  async function existing(id: string): Promise<NotificationChannel> {
    const row = await prisma.notificationChannel.findUnique({ where: { id } });
    if (!row) throw new NotFoundError(`no notification channel with id ${id}`, 'id');
    return row;
  }

  return {
    /** Returns the webhook secret (given or generated) once; it is never shown again. */
    async create(input: unknown): Promise<{ channel: NotificationChannel; secret: string | null }> {
      const fields = toChannelFields(parseInput(channelInputSchema, input), deps.smtpMissing);
      await checkUpstreams(fields.upstreamIds);
      const secret = fields.kind === 'WEBHOOK' ? (fields.secret ?? generateWebhookSecret()) : null;
      const channel = await prisma.notificationChannel.create({ data: toData(fields, secret, cipher) });
      await book.reload();
      return { channel, secret };
    },
    /** Changes what the input names; a new secret replaces the stored one, an absent one keeps it. */
    async update(id: string, patch: Record<string, unknown>): Promise<NotificationChannel> {
      const row = await existing(id);
      const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined && v !== null));
      const fields = toChannelFields(parseInput(channelInputSchema, { ...asInput(row), ...defined }), deps.smtpMissing);
      await checkUpstreams(fields.upstreamIds);
      if (fields.kind === 'WEBHOOK' && !fields.secret && !row.secret) {
        // A generated secret could never be shown here: the admin brings one.
        throw new UserInputError('input.secret: give a whsec_ secret when turning a channel into a WEBHOOK', 'input.secret');
      }
      const secret = fields.kind === 'EMAIL' ? null : (fields.secret ?? undefined);
      const channel = await prisma.notificationChannel.update({ where: { id }, data: toData(fields, secret, cipher) });
      await book.reload();
      return channel;
    },
    async remove(id: string): Promise<string> {
      await existing(id);
      await prisma.notificationChannel.delete({ where: { id } });
      await book.reload();
      return id;
    },
  };
}

export type ChannelAdmin = ReturnType<typeof channelAdmin>;
