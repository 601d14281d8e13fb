import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { SecretCipher } from '../crypto/cipher.ts';
import { NotFoundError } from '../errors.ts';
import type { EventBus } from '../events/bus.ts';
import type { NotificationDelivery, PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import { AlertRecorder } from './alert-recorder.ts';
import { ChannelBook } from './channel-book.ts';
import { channelAdmin } from './channel-admin.ts';
import { Dispatcher } from './dispatcher.ts';
import { EmailSender, missingSmtpSetting } from './email-sender.ts';
import { registerNotificationMetrics } from './metrics.ts';
import type { Notice } from './notice.ts';
import { watchSources } from './sources.ts';

export interface NotificationDeps {
  prisma: PrismaClient;
  cipher: SecretCipher;
  events: EventBus;
  state: GatewayState;
  log: Logger;
  config: Pick<Config, 'KEYRELAY_SMTP_URL' | 'KEYRELAY_SMTP_FROM' | 'KEYRELAY_WEBHOOK_TIMEOUT_MS' | 'KEYRELAY_WEBHOOK_BACKOFF_MS' | 'KEYRELAY_NOTIFY_QUEUE_MAX'>;
  registry: Registry;
}

/** Builds the notification parts: channel admin, stored alerts, event sources, folding, queue and senders. */
export async function createNotifications(deps: NotificationDeps) {
  const { prisma, cipher, events, state, log, config } = deps;
  const log_ = log.child({ component: 'notifications' });
  const book = new ChannelBook({ prisma, cipher, log: log_ });
  await book.reload();
  const smtp = { url: config.KEYRELAY_SMTP_URL, from: config.KEYRELAY_SMTP_FROM, timeoutMs: config.KEYRELAY_WEBHOOK_TIMEOUT_MS, backoffMs: config.KEYRELAY_WEBHOOK_BACKOFF_MS };
  const email = new EmailSender(smtp);
  const dispatcher = new Dispatcher({
    prisma,
    book,
    email,
    webhook: { timeoutMs: config.KEYRELAY_WEBHOOK_TIMEOUT_MS, backoffMs: config.KEYRELAY_WEBHOOK_BACKOFF_MS },
    log: log_,
    queueMax: config.KEYRELAY_NOTIFY_QUEUE_MAX,
  });
  const alerts = new AlertRecorder({ prisma, events, log: log_ });
  alerts.start();
  const stopSources = watchSources({ events, state, log: log_, notify: (n) => dispatcher.notify(n), reloadChannels: () => book.reload() });
  registerNotificationMetrics(deps.registry, dispatcher, alerts);

  return {
    channels: channelAdmin({ prisma, cipher, book, smtpMissing: missingSmtpSetting(smtp) }),
    alerts,
    dispatcher,
    /** Sends a test notification on one channel now (no folding, no queue) and returns its delivery. */
    async test(channelId: string): Promise<NotificationDelivery> {
      const channel = book.get(channelId);
      if (!channel) throw new NotFoundError(`no notification channel with id ${channelId}`, 'channelId');
      const notice: Notice = { event: [...channel.events][0] ?? 'RULE_ALERT', upstream: null, key: null, rule: null, status: null, reason: `test notification for channel "${channel.name}"`, requestId: null, job: null, at: Date.now() };
      const delivery = await dispatcher.deliver(channel, notice, 0, true);
      if (!delivery) throw new NotFoundError(`notification channel ${channelId} was deleted while testing`, 'channelId');
      return delivery;
    },
    async stop(): Promise<void> {
      stopSources();
      await alerts.stop();
      await dispatcher.stop();
      email.close();
    },
  };
}

export type Notifications = Awaited<ReturnType<typeof createNotifications>>;
