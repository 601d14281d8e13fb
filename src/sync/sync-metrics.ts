// /metrics in cluster mode: events this instance sent to and received from
// the others, and those not sent because Redis was unreachable (the other
// instances' full reload after the outage makes up for their state).

import { Counter, type Registry } from 'prom-client';
import type { TransportStats } from './redis-transport.ts';

export function registerSyncMetrics(registry: Registry, stats: TransportStats): void {
  new Counter({
    name: 'keyrelay_cluster_events_total',
    help: 'Events crossing between instances over Redis: sent, received, or dropped (not sent while Redis was unreachable)',
    labelNames: ['direction'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ direction: 'sent' }, stats.sent);
      this.inc({ direction: 'received' }, stats.received);
      this.inc({ direction: 'dropped' }, stats.dropped);
    },
  });
}
