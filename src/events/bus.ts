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
  /** Whether anything listens on `topic` now: a publisher may skip building a payload nobody reads (a request-log row per request). */
  hasSubscribers(topic: keyof EventMap): boolean;
};

export function createEventBus(): EventBus {
  const target = new EventTarget();
  // Each live subscription is a listener, so dozens of dashboards are normal, not a leak
  // (Node warns past 10); subscriptions bound their own buffers.
  setMaxListeners(0, target);
  const pubsub = createPubSub<EventMap>({ eventTarget: target as never });
  return Object.assign(pubsub, { hasSubscribers: (topic: keyof EventMap) => getEventListeners(target, topic).length > 0 });
}
