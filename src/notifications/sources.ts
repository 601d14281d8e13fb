import type { AlertRaised, EventBus, EventMap, JobFailed, KeyStateChange } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import { UpstreamUsability } from './upstream-usability.ts';
import type { Notice, NotificationEvent } from './notice.ts';

export interface SourceDeps {
  events: EventBus;
  state: GatewayState;
  log: Logger;
  notify(notice: Notice): void;
  /** Re-reads the channels: importConfig (kind 'all') may have written them. */
  reloadChannels?(): Promise<void>;
}

const KEY_EVENTS: Partial<Record<string, NotificationEvent>> = { BANNED: 'KEY_BANNED', DISABLED: 'KEY_DISABLED', EXHAUSTED: 'KEY_EXHAUSTED' };

function listen<K extends keyof EventMap>(events: EventBus, topic: K, handle: (...payload: EventMap[K]) => void, log: Logger): () => void {
  const iterator = (events.subscribe as (t: keyof EventMap) => AsyncIterableIterator<EventMap[K][0]>)(topic);
  void (async () => {
    for await (const payload of iterator) {
      try {
        (handle as (p: EventMap[K][0]) => void)(payload);
      } catch (error) {
        log.error({ err: error, topic }, 'a notification source failed on an event');
      }
    }
  })();
  return () => void iterator.return?.();
}

function upstreamRef(state: GatewayState, id: string | null, name?: string): Notice['upstream'] {
  if (!id) return null;
  return { id, name: name ?? state.upstreamsById.get(id)?.config.name ?? id };
}

function fromAlert(a: AlertRaised, state: GatewayState): Notice {
  const key = state.keys.get(a.keyId);
  return {
    event: 'RULE_ALERT',
    upstream: upstreamRef(state, a.upstreamId, a.upstreamName),
    key: { id: a.keyId, name: a.keyName ?? key?.name ?? a.keyId, fingerprint: a.fingerprint ?? key?.fingerprint ?? '' },
    rule: { id: a.ruleId, name: a.ruleName },
    status: a.status === undefined ? null : String(a.status),
    reason: a.message,
    requestId: a.requestId,
    job: null,
    at: a.at,
  };
}

function fromKeyChange(c: KeyStateChange, event: NotificationEvent, state: GatewayState): Notice {
  const rule = c.ruleId ? (state.upstreamsById.get(c.upstreamId)?.rules.find((r) => r.def.id === c.ruleId)?.def ?? null) : null;
  return {
    event,
    upstream: upstreamRef(state, c.upstreamId),
    key: { id: c.keyId, name: c.keyName, fingerprint: c.fingerprint },
    rule: c.ruleId ? { id: c.ruleId, name: rule?.name ?? c.ruleId } : null,
    status: c.to,
    reason: c.reason,
    requestId: c.requestId,
    job: null,
    at: c.at,
  };
}

function fromJob(j: JobFailed): Notice {
  return { event: 'JOB_FAILED', upstream: null, key: null, rule: null, status: 'FAILED', reason: j.error, requestId: null, job: j.job, at: j.at };
}

/**
 * The events notifications listen to on the bus: rule alerts, key state
 * changes (and, from the in-memory key states, an upstream running out of
 * usable keys or getting one back), and failed job runs. Returns a stop function.
 */
export function watchSources(deps: SourceDeps): () => void {
  const { events, state, log } = deps;
  // An event from another instance was notified there (cluster mode): here it only updates what is known, so each notice goes out once.
  let fromRemote = false;
  const notify = (notice: Notice) => {
    if (!fromRemote) deps.notify(notice);
  };
  const on = <K extends keyof EventMap>(topic: K, handle: (payload: EventMap[K][0]) => void) =>
    listen(events, topic, (payload) => {
      fromRemote = events.isRemote(payload);
      try {
        handle(payload);
      } finally {
        fromRemote = false;
      }
    }, log);
  const usability = new UpstreamUsability(state, (upstreamId, usable) =>
    notify({
      event: usable ? 'UPSTREAM_RECOVERED' : 'UPSTREAM_DEPLETED',
      upstream: upstreamRef(state, upstreamId),
      key: null,
      rule: null,
      status: usable ? 'RECOVERED' : 'DEPLETED',
      reason: usable ? 'a key is usable again' : 'no usable key left (every key is disabled, banned or exhausted)',
      requestId: null,
      job: null,
      at: Date.now(),
    }),
  );
  const stops = [
    on('alert:raised', (a) => notify(fromAlert(a, state))),
    on('apiKey:stateChanged', (c) => {
      const event = c.model === null && c.from !== c.to ? KEY_EVENTS[c.to] : undefined;
      if (event) notify(fromKeyChange(c, event, state));
      usability.check(c.upstreamId);
    }),
    on('config:changed', (change) => {
      if (change.kind === 'upstream') usability.check(change.id);
      else if (change.kind === 'key') usability.check(change.upstreamId);
      else if (change.kind === 'all') {
        usability.checkAll();
        deps.reloadChannels?.().catch((error: unknown) => log.error({ err: error }, 'reloading notification channels failed'));
      }
    }),
    on('job:failed', (j) => notify(fromJob(j))),
  ];
  return () => stops.forEach((stop) => stop());
}
