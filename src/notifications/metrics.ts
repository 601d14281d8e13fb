import { Counter, Gauge, type Registry } from 'prom-client';
import type { Dispatcher } from './dispatcher.ts';
import type { AlertRecorder } from './alert-recorder.ts';

/** Notification and alert figures, read from plain counters when /metrics is scraped. */
export function registerNotificationMetrics(registry: Registry, dispatcher: Dispatcher, alerts: AlertRecorder): void {
  const registers = [registry];
  new Gauge({
    name: 'keyrelay_notification_queue_depth',
    help: 'Notifications waiting to be sent, over all channels',
    registers,
    collect() {
      this.set(dispatcher.queued.depth);
    },
  });
  new Counter({
    name: 'keyrelay_notifications_dropped_total',
    help: 'Notifications dropped because the send queue was full (KEYRELAY_NOTIFY_QUEUE_MAX)',
    registers,
    collect() {
      this.reset();
      this.inc(dispatcher.queued.dropped);
    },
  });
  new Counter({
    name: 'keyrelay_notification_deliveries_total',
    help: 'Notification deliveries by status (SENT, FAILED, FOLDED)',
    labelNames: ['status'] as const,
    registers,
    collect() {
      this.reset();
      for (const [status, n] of Object.entries(dispatcher.counts)) this.inc({ status }, n);
    },
  });
  new Counter({
    name: 'keyrelay_alerts_dropped_total',
    help: 'Rule alerts not stored because too many were waiting (still logged)',
    registers,
    collect() {
      this.reset();
      this.inc(alerts.dropped);
    },
  });
}
