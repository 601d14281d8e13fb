import type { RuleDefinition } from '../state/types.ts';

export interface RulePreset {
  id: string;
  name: string;
  description: string;
  rule: Omit<RuleDefinition, 'id' | 'upstreamId' | 'enabled'>;
}

/** Ready-made rules the admin UI offers; each is a plain definition the user can edit. */
export const RULE_PRESETS: readonly RulePreset[] = [
  {
    id: 'ban-on-auth-failure',
    name: 'Ban on auth failure',
    description: 'A 401 or 403 means the key is revoked or lacks access: ban it and alert.',
    rule: {
      name: 'Ban on auth failure',
      condition: { status: { in: [401, 403] } },
      actions: ['BAN_KEY', 'ALERT'],
      threshold: 1,
      windowSeconds: 60,
      consecutive: false,
      cooldownSeconds: 0,
      disableMode: 'MANUAL',
      disableForSeconds: null,
      escalate: false,
      maxDisableSeconds: 0,
      scope: 'KEY',
      priority: 10,
    },
  },
  {
    id: 'disable-until-quota-reset',
    name: 'Disable until quota reset',
    description:
      'The provider reports the key out of quota: take it out until the next quota reset. ' +
      'The body text check only applies to error statuses, so a completion that merely ' +
      'mentions "quota exceeded" does not disable the key.',
    rule: {
      name: 'Disable until quota reset',
      condition: {
        any: [
          { all: [{ status: { min: 400 } }, { body: { contains: 'quota exceeded', ignoreCase: true } }] },
          { jsonPath: { path: '$.error.code', in: ['insufficient_quota', 'RESOURCE_EXHAUSTED'] } },
        ],
      },
      actions: ['DISABLE_KEY'],
      threshold: 1,
      windowSeconds: 60,
      consecutive: false,
      cooldownSeconds: 0,
      disableMode: 'QUOTA_RESET',
      disableForSeconds: null,
      escalate: false,
      maxDisableSeconds: 0,
      scope: 'KEY',
      // Before the rate-limit preset: quota errors are often 429s too and must win.
      priority: 15,
    },
  },
  {
    id: 'cooldown-on-rate-limit',
    name: 'Cool down on rate limit',
    description: 'A 429 rests the key for that model for 60 s, doubling on repeats up to an hour.',
    rule: {
      name: 'Cool down on rate limit',
      condition: { status: { equals: 429 } },
      actions: ['DISABLE_KEY'],
      threshold: 1,
      windowSeconds: 60,
      consecutive: false,
      cooldownSeconds: 0,
      disableMode: 'DURATION',
      disableForSeconds: 60,
      escalate: true,
      maxDisableSeconds: 3600,
      scope: 'KEY_MODEL',
      priority: 20,
    },
  },
  {
    id: 'consecutive-5xx',
    name: 'Disable after 5 consecutive 5xx',
    description: 'Five server errors in a row on one key rest it for 30 s, escalating on repeats.',
    rule: {
      name: 'Disable after 5 consecutive 5xx',
      condition: { status: { min: 500, max: 599 } },
      actions: ['DISABLE_KEY'],
      threshold: 5,
      // In consecutive mode this bounds how long a streak may sit idle.
      windowSeconds: 300,
      consecutive: true,
      cooldownSeconds: 0,
      disableMode: 'DURATION',
      disableForSeconds: 30,
      escalate: true,
      maxDisableSeconds: 600,
      scope: 'KEY',
      priority: 30,
    },
  },
];
