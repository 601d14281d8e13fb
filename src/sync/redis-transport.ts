// Cluster mode's transport for the event bus: what is published on this
// instance reaches the others over one Redis channel per cluster. Local
// delivery never waits for it (the bus delivers first, then hands the event
// here), events are gathered per tick into one PUBLISH, and while Redis is
// unreachable they are dropped and counted: the other instances' state is
// brought back by their full reload when Redis returns.

import type { ClusterRedis } from '../cluster/redis.ts';
import type { BusTransport, EventBus, EventMap } from '../events/bus.ts';
import type { Logger } from '../logger.ts';

export type Topic = keyof EventMap;
export type RemoteEvent = [Topic, unknown];

/**
 * Topics the other instances receive. `alert:raised` and `job:failed` stay
 * where they happened: that instance stores the alert and sends the
 * notifications, once for the cluster; the stored alert travels as `alert:stored`.
 */
export const SHARED_TOPICS: ReadonlySet<Topic> = new Set<Topic>(['requestLog:created', 'apiKey:stateChanged', 'config:changed', 'alert:stored']);
/** One per proxied request: sent only while some other instance has a listener (a dashboard). */
const ON_INTEREST: ReadonlySet<Topic> = new Set<Topic>(['requestLog:created']);

/** Events per PUBLISH at most, so one message stays quick to parse on the receiving side. */
const MAX_BATCH = 500;
/** An instance repeats what it listens to this often; the others forget it after INTEREST_TTL_MS of silence (a crashed instance). */
const INTEREST_REFRESH_MS = 10_000;
const INTEREST_TTL_MS = 35_000;

type Envelope = { events: RemoteEvent[] } | { interest: Topic[]; ask?: boolean };

export interface TransportStats {
  sent: number;
  received: number;
  /** Events not sent because Redis was unreachable (or refused the PUBLISH). */
  dropped: number;
}

export class RedisEventTransport implements BusTransport {
  readonly stats: TransportStats = { sent: 0, received: 0, dropped: 0 };
  private readonly channel: string;
  /** Messages start with the sender's id and a newline, so an instance skips its own echo without parsing it. */
  private readonly ownPrefix: string;
  private outbox: RemoteEvent[] = [];
  private flushScheduled = false;
  private readonly interest = new Map<string, { topics: ReadonlySet<Topic>; until: number }>();
  private refreshTimer: NodeJS.Timeout | null = null;
  private stopHealth: (() => void) | null = null;
  private readonly onMessage = (channel: string, message: string) => {
    if (channel === this.channel) this.receive(message);
  };

  constructor(
    private readonly deps: {
      cluster: ClusterRedis;
      bus: EventBus;
      log: Logger;
      /** Events from another instance, in the order it published them. */
      onEvents(events: RemoteEvent[]): void;
    },
  ) {
    this.channel = `${deps.cluster.prefix}events`;
    this.ownPrefix = `${deps.cluster.instanceId}\n`;
  }

  async start(): Promise<void> {
    const { cluster } = this.deps;
    cluster.subscriber.on('message', this.onMessage);
    // ioredis subscribes again by itself after a reconnect.
    await cluster.subscriber.subscribe(this.channel);
    this.announce(true);
    this.refreshTimer = setInterval(() => this.announce(false), INTEREST_REFRESH_MS);
    this.refreshTimer.unref();
    // Back from an outage: what the others listen to may have changed meanwhile.
    this.stopHealth = cluster.health.onChange((state) => {
      if (state === 'ok') this.announce(true);
    });
  }

  /** Tells the others this instance stops listening, so they stop sending at once. */
  async stop(): Promise<void> {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.stopHealth?.();
    this.flush();
    this.send({ interest: [] });
    this.deps.cluster.subscriber.off('message', this.onMessage);
    await this.deps.cluster.subscriber.unsubscribe(this.channel).catch(() => {});
  }

  forward<K extends Topic>(topic: K, payload: EventMap[K][0]): void {
    if (!SHARED_TOPICS.has(topic)) return;
    if (ON_INTEREST.has(topic) && !this.remoteInterest(topic)) return;
    this.outbox.push([topic, payload]);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  remoteInterest(topic: Topic): boolean {
    if (this.interest.size === 0) return false;
    const now = Date.now();
    for (const [instance, entry] of this.interest) {
      if (entry.until < now) this.interest.delete(instance);
      else if (entry.topics.has(topic)) return true;
    }
    return false;
  }

  localInterestChanged(topic: Topic): void {
    if (ON_INTEREST.has(topic)) this.announce(false);
  }

  private flush(): void {
    this.flushScheduled = false;
    while (this.outbox.length > 0) {
      const events = this.outbox.length <= MAX_BATCH ? this.outbox : this.outbox.slice(0, MAX_BATCH);
      this.outbox = events === this.outbox ? [] : this.outbox.slice(MAX_BATCH);
      this.send({ events }, events.length);
    }
  }

  /** Fire and forget: nothing here waits for Redis. */
  private send(envelope: Envelope, events = 0): void {
    const { commands } = this.deps.cluster;
    if (commands.status !== 'ready') {
      this.stats.dropped += events;
      return;
    }
    commands.publish(this.channel, this.ownPrefix + JSON.stringify(envelope)).then(
      () => (this.stats.sent += events),
      () => (this.stats.dropped += events),
    );
  }

  /** What this instance listens to, among the topics sent only on interest; `ask` has the others answer with theirs. */
  private announce(ask: boolean): void {
    const topics = [...ON_INTEREST].filter((t) => this.deps.bus.localSubscribers(t) > 0);
    this.send({ interest: topics, ...(ask ? { ask } : {}) });
  }

  private receive(message: string): void {
    if (message.startsWith(this.ownPrefix)) return;
    const newline = message.indexOf('\n');
    const from = message.slice(0, newline);
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message.slice(newline + 1)) as Envelope;
    } catch {
      this.deps.log.warn({ from }, 'ignored an unreadable cluster event message');
      return;
    }
    if ('events' in envelope) {
      const events = envelope.events.filter(([topic]) => SHARED_TOPICS.has(topic));
      this.stats.received += events.length;
      this.deps.onEvents(events);
      return;
    }
    if (envelope.interest.length === 0) this.interest.delete(from);
    else this.interest.set(from, { topics: new Set(envelope.interest), until: Date.now() + INTEREST_TTL_MS });
    if (envelope.ask) this.announce(false);
  }
}
