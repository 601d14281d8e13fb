// Notification channels in exportConfig / importConfig (and so in a
// KEYRELAY_CONFIG file). A channel travels by name, its upstreams by name. The
// webhook secret is write-only: an export writes `secret: null` for every
// WEBHOOK channel (as exportKeys writes `value: null` without includeSecrets),
// which marks a secret that must be set. On import a null or absent secret
// keeps the one stored on the channel of that name; a WEBHOOK channel new to
// the database must bring its whsec_ secret (a config file: as a ${VAR}
// reference), since a generated one could never be shown.

import { z } from 'zod';
import type { SecretCipher } from '../crypto/cipher.ts';
import { UserInputError } from '../errors.ts';
import type { NotificationChannel, PrismaClient } from '../generated/prisma/client.ts';
import { channelInputSchema, toChannelFields, type ChannelFields } from '../notifications/channel-input.ts';
import { toData } from '../notifications/channel-admin.ts';
import { parseJson } from '../db/json-column.ts';

type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];
type ImportCounts = { created: number; updated: number; deleted: number };
type Resolve = (name: string, field: string) => Promise<string | null>;

export const channelDocSchema = channelInputSchema.omit({ upstreamIds: true }).extend({
  upstreams: z.array(z.string().min(1)).max(1000).default([]),
});
export type ChannelDoc = z.infer<typeof channelDocSchema>;

/** The document's fields of a channel, for the config file's check of unknown fields. */
export const CHANNEL_DOC_FIELDS: readonly string[] = Object.keys(channelDocSchema.shape);

export function channelToDoc(row: NotificationChannel, nameOf: (id: string) => string | undefined) {
  return {
    name: row.name,
    kind: row.kind,
    url: row.url,
    ...(row.kind === 'WEBHOOK' ? { secret: null } : {}),
    emailTo: parseJson<string[]>(row.emailTo, []),
    events: parseJson<string[]>(row.events, []),
    upstreams: parseJson<string[]>(row.upstreamIds, []).map(nameOf).filter((n): n is string => !!n),
    minIntervalSeconds: row.minIntervalSeconds,
    enabled: row.enabled,
  };
}

export async function exportChannels(prisma: PrismaClient, nameOf: (id: string) => string | undefined) {
  const rows = await prisma.notificationChannel.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  return rows.map((row) => channelToDoc(row, nameOf));
}

/** toChannelFields with its `input.` fields named where they are in the document. */
function fieldsOf(doc: ChannelDoc, upstreamIds: string[], smtpMissing: string | null, at: string): ChannelFields {
  try {
    return toChannelFields({ ...doc, upstreamIds }, smtpMissing);
  } catch (error) {
    if (error instanceof UserInputError && error.field?.startsWith('input.')) {
      const field = `${at}.${error.field.slice('input.'.length)}`;
      throw new UserInputError(error.message.replace(/^input\.[^:]*/, field), field);
    }
    throw error;
  }
}

/** Every channel's fields checked before anything is written (upstream names are resolved in the transaction). */
export function checkChannels(docs: ChannelDoc[], smtpMissing: string | null): void {
  docs.forEach((doc, i) => fieldsOf(doc, [], smtpMissing, `json.notificationChannels.${i}`));
}

function sameSecret(row: NotificationChannel, secret: string, cipher: SecretCipher): boolean {
  try {
    return row.secret !== null && cipher.decrypt(row.secret) === secret;
  } catch {
    return false;
  }
}

/** Writes the document's channels (MERGE by name; REPLACE also deletes the channels it does not name). */
export async function importChannels(tx: Tx, docs: ChannelDoc[], mode: 'MERGE' | 'REPLACE', resolve: Resolve, cipher: SecretCipher, smtpMissing: string | null): Promise<ImportCounts> {
  const result = { created: 0, updated: 0, deleted: 0 };
  for (const [i, doc] of docs.entries()) {
    const at = `json.notificationChannels.${i}`;
    const upstreamIds: string[] = [];
    for (const [j, name] of doc.upstreams.entries()) upstreamIds.push((await resolve(name, `${at}.upstreams.${j}`))!);
    const fields = fieldsOf(doc, upstreamIds, smtpMissing, at);
    const existing = await tx.notificationChannel.findFirst({ where: { name: doc.name }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    if (fields.kind === 'WEBHOOK' && !fields.secret && !existing?.secret) {
      throw new UserInputError(`${at}.secret: the WEBHOOK channel "${doc.name}" has no secret here: give its whsec_ secret (an export leaves it out)`, `${at}.secret`);
    }
    // undefined keeps the stored secret; an EMAIL channel has none.
    const secret = fields.kind === 'EMAIL' ? null : fields.secret !== null && !(existing && sameSecret(existing, fields.secret, cipher)) ? fields.secret : undefined;
    const data = toData(fields, secret, cipher);
    if (!existing) await tx.notificationChannel.create({ data });
    // Written only when something changes, so a config file applied at every start leaves the row alone.
    else if ((secret !== undefined && (secret !== null || existing.secret !== null)) || differs(existing, data)) {
      await tx.notificationChannel.update({ where: { id: existing.id }, data });
    }
    result[existing ? 'updated' : 'created']++;
  }
  if (mode === 'REPLACE') {
    result.deleted = (await tx.notificationChannel.deleteMany({ where: { name: { notIn: docs.map((d) => d.name) } } })).count;
  }
  return result;
}

function differs(row: NotificationChannel, data: Record<string, unknown>): boolean {
  const stored = row as unknown as Record<string, unknown>;
  return Object.entries(data).some(([column, value]) => column !== 'secret' && stored[column] !== value);
}
