import { randomUUID } from 'node:crypto';
import type { NotificationDelivery, PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import type { ChannelBook, LiveChannel } from './channel-book.ts';
import type { EmailSender } from './email-sender.ts';
import { Folder } from './folding.ts';
import { subjectOf, toPayload, type Notice } from './notice.ts';
import type { SendResult } from './retry.ts';
import { SendQueue } from './send-queue.ts';
import { sendWebhook, type WebhookSettings } from './webhook-sender.ts';

/** Sends under way at once per channel. */
const SENDS_PER_CHANNEL = 2;

export interface DispatcherDeps {
  prisma: PrismaClient;
  book: ChannelBook;
  email: EmailSender;
  webhook: Omit<WebhookSettings, 'signal'>;
  log: Logger;
  /** Waiting sends per channel; more are dropped and counted. */
  queueMax: number;
}

/**
 * From notice to delivery: match channels (memory), fold per channel and
 * subject, queue (bounded), send, record. A delivery that fails for good is a
 * FAILED row and a warn line, nothing more: no event, so no notification
 * about a notification.
 */
export class Dispatcher {
  /** One queue per channel, so a receiver that never answers delays only its own channel. */
  private readonly queues = new Map<string, SendQueue>();
  readonly counts = { SENT: 0, FAILED: 0, FOLDED: 0 };
  private readonly folder: Folder;
  private readonly stopping = new AbortController();

  constructor(private readonly deps: DispatcherDeps) {
    this.folder = new Folder(
      {
        send: (channel, notice, folded) => this.enqueue(channel, notice, folded),
        folded: (channel, notice, folded, since) => void this.record(channel, notice, { status: 'FOLDED', attempts: 0, error: null, folded, createdAt: since, deliveredAt: null }),
      },
      (id) => deps.book.get(id),
    );
  }

  /** Cheap and synchronous: called from bus listeners. */
  notify(notice: Notice): void {
    for (const channel of this.deps.book.matching(notice)) this.folder.offer(channel, notice);
  }

  private queueOf(channelId: string): SendQueue {
    let queue = this.queues.get(channelId);
    if (!queue) {
      queue = new SendQueue(this.deps.queueMax, SENDS_PER_CHANNEL, (error) => this.deps.log.error({ err: error, channelId }, 'a notification send crashed'));
      this.queues.set(channelId, queue);
    }
    return queue;
  }

  /** Waiting sends and drops over every channel (for /metrics). */
  get queued(): { depth: number; dropped: number } {
    let depth = 0;
    let dropped = 0;
    for (const q of this.queues.values()) {
      depth += q.depth;
      dropped += q.dropped;
    }
    return { depth, dropped };
  }

  private enqueue(channel: LiveChannel, notice: Notice, folded: number): void {
    const queue = this.queueOf(channel.id);
    const queued = queue.push(async () => {
      await this.deliver(channel, notice, folded, false);
    });
    if (!queued && queue.dropped % 100 === 1) this.deps.log.warn({ channelId: channel.id, dropped: queue.dropped }, 'notification queue full: dropping notifications');
  }

  /** Sends one notification now and records it; testNotification awaits this directly. */
  async deliver(channel: LiveChannel, notice: Notice, folded: number, test: boolean): Promise<NotificationDelivery | null> {
    const createdAt = Date.now();
    const msgId = `msg_${randomUUID()}`;
    const payload = toPayload(notice, folded, test);
    let result: SendResult;
    if (channel.kind === 'WEBHOOK') {
      result = channel.url && channel.secret ? await sendWebhook({ url: channel.url, secret: channel.secret }, msgId, payload, { ...this.deps.webhook, signal: this.stopping.signal }) : { ok: false, attempts: 0, error: 'no URL or secret' };
    } else {
      result = await this.deps.email.send(channel.emailTo, msgId, payload);
    }
    const status = result.ok ? 'SENT' : 'FAILED';
    if (!result.ok) this.deps.log.warn({ channelId: channel.id, channel: channel.name, event: notice.event, attempts: result.attempts, error: result.error }, 'notification failed for good');
    return this.record(channel, notice, { status, attempts: result.attempts, error: result.error, folded, createdAt, deliveredAt: result.ok ? Date.now() : null });
  }

  private async record(
    channel: LiveChannel,
    notice: Notice,
    row: { status: 'SENT' | 'FAILED' | 'FOLDED'; attempts: number; error: string | null; folded: number; createdAt: number; deliveredAt: number | null },
  ): Promise<NotificationDelivery | null> {
    this.counts[row.status]++;
    try {
      return await this.deps.prisma.notificationDelivery.create({
        data: {
          channelId: channel.id,
          event: notice.event,
          subject: subjectOf(notice),
          status: row.status,
          attempts: row.attempts,
          error: row.error,
          folded: row.folded,
          createdAt: new Date(row.createdAt),
          deliveredAt: row.deliveredAt === null ? null : new Date(row.deliveredAt),
        },
      });
    } catch (error) {
      // The channel may have been deleted meanwhile (its deliveries go with it).
      this.deps.log.warn({ channelId: channel.id, err: error }, 'could not record a notification delivery');
      return null;
    }
  }

  /** Stops waiting between retries, drops what has not started, and waits for sends under way. */
  async stop(): Promise<void> {
    this.folder.stop();
    this.stopping.abort();
    for (const q of this.queues.values()) q.clear();
    await Promise.all([...this.queues.values()].map((q) => q.idle()));
  }
}
