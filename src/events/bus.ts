import { getEventListeners, setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from 'graphql-yoga';
import type { Actor, KeyStatus } from '../state/types.ts';

/** What a dashboard learns about a key state change; never the secret. */
export interface KeyStateChange {
  keyId: string;
  upstreamId: string;
  keyName: string;
  fingerprint: string;
  from: KeyStatus;
  to: KeyStatus;
  reason: string | null;
  actor: Actor;
  ruleId: string | null;
  requestId: string | null;
  model: string | null;
  disabledUntil: number | null;
  at: number;
}

/** A stored request log row, as published after the batch writer stored it. */
export interface RequestLogged {
  id: number;
  createdAt: number;
  requestId: string;
  upstreamId: string | null;
  keyId: string | null;
  accessTokenId: string | null;
  method: string;
  path: string;
  status: number;
  outcome: string;
  latencyMs: number;
  overheadMs: number;
  attempts: number;
  /** Whole bytes; a number is exact up to 2^53, far past any body (the database column is 64-bit). */
  bytesIn: number;
  bytesOut: number;
  clientIp: string | null;
  error: string | null;
  model: string | null;
  stream: boolean;
  promptTokens: number | null;
  completionTokens: number | null;
  totalTokens: number | null;
  matchedRules: string | null;
  requestBody: string | null;
  responseBody: string | null;
  bodyTruncated: boolean;
}

export interface AlertRaised {
  ruleId: string;
  ruleName: string;
  keyId: string;
  upstreamId: string;
  requestId: string | null;
  message: string;
  at: number;
  /** For the log line, the stored alert and notifications: names and the masked fingerprint only. */
  upstreamName?: string;
  keyName?: string;
  fingerprint?: string;
  status?: number;
}

/** A stored alert (the Alert row), published once the batch holding it is written. */
export interface AlertStored {
  id: number;
  createdAt: number;
  ruleId: string | null;
  ruleName: string;
  upstreamId: string | null;
  upstreamName: string | null;
  keyId: string | null;
  keyName: string | null;
  fingerprint: string | null;
  requestId: string | null;
  status: number | null;
  message: string;
}

/** A job run ended FAILED. */
export interface JobFailed {
  job: string;
  runId: number;
  error: string;
  at: number;
}

/** Something in the configuration changed; the state reloads what is named. */
export type ConfigChanged =
  | { kind: 'upstream'; id: string }
  | { kind: 'key'; id: string; upstreamId: string }
  | { kind: 'rules' }
  | { kind: 'tokens' }
  | { kind: 'rateLimits' }
  /** Quota counts set back to 0 (admin resetQuota, the quota-reset job): other instances drop their counts and re-read. */
  | { kind: 'quotaReset'; keyIds: string[] }
  | { kind: 'all' };

// Topics are named entity:event; every publisher and subscriber goes through this bus.
export type EventMap = {
  'requestLog:created': [RequestLogged];
  'apiKey:stateChanged': [KeyStateChange];
  'alert:raised': [AlertRaised];
  'config:changed': [ConfigChanged];
  'alert:stored': [AlertStored];
  'job:failed': [JobFailed];
};

export type EventBus = PubSub<EventMap> & {
  /**
   * Whether anything listens on `topic` now, here or (in cluster mode) on
   * another instance: a publisher may skip building a payload nobody reads
   * (a request-log row per request).
   */
  hasSubscribers(topic: keyof EventMap): boolean;
  /** Local listeners of `topic` (what this instance tells the others it wants). */
  localSubscribers(topic: keyof EventMap): number;
  /**
   * Whether this payload was published on another instance (cluster mode).
   * Side effects that must happen once in the cluster (notifications,
   * storing) belong to the instance where the event happened.
   */
  isRemote(payload: unknown): boolean;
  /** Delivers an event from another instance to this instance's listeners only (never sent on). */
  deliverRemote<K extends keyof EventMap>(topic: K, payload: EventMap[K][0]): void;
  /** Cluster mode: every local publish is also handed to the transport; returns the detach. */
  attachTransport(transport: BusTransport): () => void;
};

/** Carries events to the other instances (cluster mode: Redis). */
export interface BusTransport {
  /** Called after local delivery of every published event; must not throw or wait. */
  forward<K extends keyof EventMap>(topic: K, payload: EventMap[K][0]): void;
  /** Whether another instance has listeners of `topic`. */
  remoteInterest(topic: keyof EventMap): boolean;
  /** Local listeners of `topic` came or went (0 <-> more). */
  localInterestChanged(topic: keyof EventMap): void;
}

/** An EventTarget that says when a topic gains its first listener or loses its last. */
class WatchedEventTarget extends EventTarget {
  onInterest: ((topic: string) => void) | null = null;

  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: AddEventListenerOptions | boolean): void {
    const before = getEventListeners(this, type).length;
    super.addEventListener(type, listener, options);
    if (before === 0 && getEventListeners(this, type).length > 0) this.onInterest?.(type);
  }

  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: EventListenerOptions | boolean): void {
    const before = getEventListeners(this, type).length;
    super.removeEventListener(type, listener, options);
    if (before > 0 && getEventListeners(this, type).length === 0) this.onInterest?.(type);
  }
}

export function createEventBus(): EventBus {
  const target = new WatchedEventTarget();
  // Each live subscription is a listener, so dozens of dashboards are normal, not a leak
  // (Node warns past 10); subscriptions bound their own buffers.
  setMaxListeners(0, target);
  const pubsub = createPubSub<EventMap>({ eventTarget: target as never });
  const publishLocally = pubsub.publish;
  // Payloads that came from another instance: fresh objects, so a weak set marks them without copying.
  const remote = new WeakSet<object>();
  let transport: BusTransport | null = null;
  const localSubscribers = (topic: keyof EventMap) => getEventListeners(target, topic).length;
  const bus: EventBus = Object.assign(pubsub, {
    publish: ((topic: keyof EventMap, payload: never) => {
      publishLocally(topic, payload);
      transport?.forward(topic, payload);
    }) as PubSub<EventMap>['publish'],
    hasSubscribers: (topic: keyof EventMap) => localSubscribers(topic) > 0 || (transport?.remoteInterest(topic) ?? false),
    localSubscribers,
    isRemote: (payload: unknown) => typeof payload === 'object' && payload !== null && remote.has(payload),
    deliverRemote<K extends keyof EventMap>(topic: K, payload: EventMap[K][0]) {
      if (typeof payload === 'object' && payload !== null) remote.add(payload);
      publishLocally(topic, payload as never);
    },
    attachTransport(next: BusTransport) {
      transport = next;
      target.onInterest = (topic) => next.localInterestChanged(topic as keyof EventMap);
      return () => {
        transport = null;
        target.onInterest = null;
      };
    },
  });
  return bus;
}
