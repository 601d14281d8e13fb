/** What a channel may subscribe to. */
export const NOTIFICATION_EVENTS = ['RULE_ALERT', 'KEY_BANNED', 'KEY_DISABLED', 'KEY_EXHAUSTED', 'UPSTREAM_DEPLETED', 'UPSTREAM_RECOVERED', 'JOB_FAILED'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];
export const NOTIFICATION_KINDS = ['WEBHOOK', 'EMAIL'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
export const DELIVERY_STATUSES = ['SENT', 'FAILED', 'FOLDED'] as const;

/**
 * One thing worth telling a person. Names, ids and the masked fingerprint
 * only: a notice is built from bus events that never carry a key's value.
 */
export interface Notice {
  event: NotificationEvent;
  upstream: { id: string; name: string } | null;
  key: { id: string; name: string; fingerprint: string } | null;
  rule: { id: string; name: string } | null;
  /** The HTTP status of a rule alert, the key's new status, DEPLETED/RECOVERED, or FAILED for a job. */
  status: string | null;
  reason: string | null;
  requestId: string | null;
  job: string | null;
  at: number;
}

/** What the minimum interval applies to: one event about one upstream and one key (or rule, or job). */
export function subjectOf(n: Notice): string {
  const about = n.key?.id ?? n.rule?.id ?? n.job ?? '-';
  return `${n.event}:${n.upstream?.id ?? '-'}:${about}${n.event === 'RULE_ALERT' && n.key && n.rule ? `:${n.rule.id}` : ''}`;
}

/** Standard Webhooks' full-stop delimited type: KEY_BANNED -> key.banned. */
export function webhookType(event: NotificationEvent): string {
  return event.toLowerCase().replace('_', '.');
}

export interface NotificationPayload {
  type: string;
  timestamp: string;
  data: {
    event: NotificationEvent;
    upstream: Notice['upstream'];
    key: Notice['key'];
    rule: Notice['rule'];
    status: string | null;
    reason: string | null;
    requestId: string | null;
    job: string | null;
    /** How many more of the same subject arrived since the last notification and were folded into this one. */
    folded: number;
    test: boolean;
  };
}

export function toPayload(n: Notice, folded: number, test = false): NotificationPayload {
  return {
    type: webhookType(n.event),
    timestamp: new Date(n.at).toISOString(),
    data: { event: n.event, upstream: n.upstream, key: n.key, rule: n.rule, status: n.status, reason: n.reason, requestId: n.requestId, job: n.job, folded, test },
  };
}

const TITLES: Record<NotificationEvent, string> = {
  RULE_ALERT: 'rule alert',
  KEY_BANNED: 'key banned',
  KEY_DISABLED: 'key disabled',
  KEY_EXHAUSTED: 'key exhausted',
  UPSTREAM_DEPLETED: 'upstream has no usable key',
  UPSTREAM_RECOVERED: 'upstream recovered',
  JOB_FAILED: 'job failed',
};

/** A short subject naming the event, upstream and key: what an inbox or a pager shows. */
export function mailSubject(p: NotificationPayload): string {
  const d = p.data;
  const parts = [`[keyrelay] ${d.test ? 'test: ' : ''}${TITLES[d.event]}`];
  if (d.upstream) parts.push(d.upstream.name);
  if (d.key) parts.push(`key ${d.key.name} (${d.key.fingerprint})`);
  if (d.job) parts.push(`job ${d.job}`);
  return parts.join(' | ') + (d.folded > 0 ? ` (+${d.folded} more)` : '');
}

export function mailText(p: NotificationPayload): string {
  const d = p.data;
  const lines = [`${TITLES[d.event]} at ${p.timestamp}`, ''];
  if (d.upstream) lines.push(`Upstream:    ${d.upstream.name} (${d.upstream.id})`);
  if (d.key) lines.push(`Key:         ${d.key.name}, fingerprint ${d.key.fingerprint}`);
  if (d.rule) lines.push(`Rule:        ${d.rule.name}`);
  if (d.job) lines.push(`Job:         ${d.job}`);
  if (d.status) lines.push(`Status:      ${d.status}`);
  if (d.reason) lines.push(`Reason:      ${d.reason}`);
  if (d.requestId) lines.push(`Request id:  ${d.requestId}`);
  if (d.folded > 0) lines.push('', `${d.folded} more of the same arrived since the last notification and were folded into this one.`);
  if (d.test) lines.push('', 'This is a test notification.');
  return lines.join('\n') + '\n';
}
