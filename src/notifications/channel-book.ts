import type { PrismaClient } from '../generated/prisma/client.ts';
import type { SecretCipher } from '../crypto/cipher.ts';
import type { Logger } from '../logger.ts';
import { parseJson } from '../db/json-column.ts';
import type { Notice, NotificationEvent, NotificationKind } from './notice.ts';

/** A channel as the senders use it, the webhook secret decrypted (memory only, never logged). */
export interface LiveChannel {
  id: string;
  name: string;
  kind: NotificationKind;
  url: string | null;
  secret: string | null;
  emailTo: string[];
  events: Set<NotificationEvent>;
  upstreamIds: Set<string>;
  minIntervalMs: number;
  enabled: boolean;
}

/**
 * The channels in memory, reloaded after every admin write, so matching a
 * notice to its channels reads no database.
 */
export class ChannelBook {
  private channels: LiveChannel[] = [];

  constructor(private readonly deps: { prisma: PrismaClient; cipher: SecretCipher; log: Logger }) {}

  async reload(): Promise<void> {
    const rows = await this.deps.prisma.notificationChannel.findMany({ orderBy: { createdAt: 'asc' } });
    const next: LiveChannel[] = [];
    for (const row of rows) {
      let secret: string | null = null;
      try {
        secret = row.secret ? this.deps.cipher.decrypt(row.secret) : null;
      } catch {
        this.deps.log.error({ channelId: row.id }, 'cannot decrypt a webhook secret (wrong master key?); the channel is skipped');
        continue;
      }
      next.push({
        id: row.id,
        name: row.name,
        kind: row.kind,
        url: row.url,
        secret,
        emailTo: parseJson<string[]>(row.emailTo, []),
        events: new Set(parseJson<NotificationEvent[]>(row.events, [])),
        upstreamIds: new Set(parseJson<string[]>(row.upstreamIds, [])),
        minIntervalMs: row.minIntervalSeconds * 1000,
        enabled: row.enabled,
      });
    }
    this.channels = next;
  }

  get(id: string): LiveChannel | undefined {
    return this.channels.find((c) => c.id === id);
  }

  /** Enabled channels that take this event for this upstream (an empty list takes all; job events have no upstream). */
  matching(notice: Notice): LiveChannel[] {
    return this.channels.filter(
      (c) => c.enabled && c.events.has(notice.event) && (c.upstreamIds.size === 0 || notice.upstream === null || c.upstreamIds.has(notice.upstream.id)),
    );
  }
}
