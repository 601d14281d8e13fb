import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import { parseRetryAfter } from '../upstream-http/backoff.ts';
import type { CompiledRule } from '../rules/evaluate.ts';
import { disableDurationMs } from '../rules/escalation.ts';
import type { RuleObservation } from '../rules/runtime-types.ts';
import type { ApiKeyState, RuleDefinition, UpstreamConfig } from '../state/types.ts';
import { mayTakeOut } from './ejection-guard.ts';
import { EscalationBook } from './escalation-book.ts';
import type { KeyLifecycle, TransitionOptions } from './lifecycle.ts';

export interface RuleActionDeps {
  lifecycle: KeyLifecycle;
  events: EventBus;
  log: Logger;
  now: () => number;
  /** Next quota reset of an upstream (epoch ms), or null when no schedule applies. */
  quotaResetAt: (upstream: UpstreamConfig, now: number) => number | null;
}

const DAY_MS = 86_400_000;
/** A QUOTA_RESET disable with no usable schedule lasts this long (and says so in the log). */
export const QUOTA_RESET_FALLBACK_MS = DAY_MS;
const CAP_WARN_INTERVAL_MS = 10_000;

// Stored asynchronously by the lifecycle, which logs failures itself; a
// rejected promise left unhandled would crash the process.
const ignore = (): void => {};

function isModelCooldown(def: RuleDefinition, model: string | null): model is string {
  // MANUAL has no end time and a ban is about the key itself: both act on the whole key.
  return def.scope === 'KEY_MODEL' && model !== null && def.disableMode !== 'MANUAL' && !def.actions.includes('BAN_KEY');
}

function isOut(key: ApiKeyState, model: string | null, now: number): boolean {
  if (key.status !== 'ACTIVE') return true;
  const until = model === null ? undefined : key.modelCooldowns.get(model);
  return until !== undefined && until > now;
}

/**
 * What a fired rule does to the key: DISABLE_KEY (for a duration with
 * escalation, until the next quota reset, or until re-enabled by hand),
 * BAN_KEY, ALERT. Every state change goes through the key lifecycle, which
 * updates memory at once and stores the change in the background (retried
 * until the database takes it).
 */
// size: longer because it is a factory of short closures over one shared state; each closure stays small.
export function createRuleActions(deps: RuleActionDeps) {
  const book = new EscalationBook();
  const lastCapWarning = new Map<string, number>();

  function disableUntil(def: RuleDefinition, key: ApiKeyState, model: string | null, upstream: UpstreamConfig, retryAfter: string | undefined, status: number, now: number): number | null {
    if (def.disableMode === 'MANUAL') return null;
    let until: number;
    if (def.disableMode === 'QUOTA_RESET') {
      const reset = deps.quotaResetAt(upstream, now);
      if (reset === null) deps.log.warn({ upstreamId: upstream.id, ruleId: def.id }, 'no usable quota reset schedule; disabling for a day');
      until = reset ?? now + QUOTA_RESET_FALLBACK_MS;
    } else {
      until = now + disableDurationMs(def, book.previous(key, model));
    }
    // The provider's own Retry-After is a floor: returning earlier only earns another 429.
    if (status === 429 || status === 503) {
      const wait = parseRetryAfter(retryAfter, now);
      if (wait !== null) until = Math.max(until, now + Math.min(wait, def.maxDisableSeconds > 0 ? def.maxDisableSeconds * 1000 : DAY_MS));
    }
    return until;
  }

  function warnCapped(upstream: UpstreamConfig, def: RuleDefinition, keyId: string, now: number): void {
    const last = lastCapWarning.get(upstream.id) ?? -Infinity;
    if (now - last < CAP_WARN_INTERVAL_MS) return;
    lastCapWarning.set(upstream.id, now);
    deps.log.warn(
      { upstreamId: upstream.id, ruleId: def.id, keyId, maxEjectionPercent: upstream.maxEjectionPercent },
      'rule fired but the max ejection cap keeps the key in service (upstream-wide failure?)',
    );
  }

  /** Takes the key out if the rule says so and the cap allows; true when the key (for the model) is out afterwards. */
  function takeOut(rule: CompiledRule, obs: RuleObservation, retryAfter: string | undefined, now: number): boolean {
    const { def } = rule;
    const { key, upstream, requestId, sample } = obs;
    const ban = def.actions.includes('BAN_KEY');
    const model = isModelCooldown(def, obs.model) ? obs.model : null;
    const opts: TransitionOptions = { actor: 'RULE', ruleId: def.id, requestId, reason: `rule "${def.name}" matched status ${sample.status}` };
    // Already out (a concurrent request's rule, an admin): no second disable, so
    // in-flight failures of one burst do not escalate the key many times over.
    // A ban still upgrades a key that is only disabled or exhausted.
    if (ban ? key.status === 'BANNED' : isOut(key, model, now)) return true;
    if (key.status === 'ACTIVE' && !mayTakeOut(upstream, key, model, now)) {
      warnCapped(upstream.config, def, key.id, now);
      return false;
    }
    if (ban) {
      deps.lifecycle.transition(key.id, 'BANNED', opts).catch(ignore);
      return true;
    }
    const until = disableUntil(def, key, model, upstream.config, retryAfter, sample.status, now);
    const disableCount = book.recordDisable(key, model, until, now) ?? undefined;
    if (model !== null && until !== null) deps.lifecycle.cooldownModel(key.id, model, until, opts).catch(ignore);
    else deps.lifecycle.transition(key.id, 'DISABLED', { ...opts, until, disableCount }).catch(ignore);
    return true;
  }

  /** The operational log line of ALERT (warn) and LOG (info): names and the masked fingerprint, never the key. */
  function logFields(rule: CompiledRule, obs: RuleObservation) {
    const { key, upstream } = obs;
    return {
      ruleId: rule.def.id,
      rule: rule.def.name,
      upstreamId: upstream.config.id,
      upstream: upstream.config.name,
      keyId: key.id,
      keyName: key.name,
      fingerprint: key.fingerprint,
      requestId: obs.requestId,
      status: obs.sample.status,
      ...(obs.model ? { model: obs.model } : {}),
    };
  }

  function alert(rule: CompiledRule, obs: RuleObservation, outcome: string, now: number): void {
    const { key, upstream } = obs;
    deps.log.warn({ ...logFields(rule, obs), outcome }, 'rule alert');
    deps.events.publish('alert:raised', {
      ruleId: rule.def.id,
      ruleName: rule.def.name,
      keyId: key.id,
      upstreamId: upstream.config.id,
      requestId: obs.requestId,
      // Names and the masked fingerprint only: never the key itself.
      message: `rule "${rule.def.name}" fired for key ${key.name} (${key.fingerprint}) of ${upstream.config.name} on status ${obs.sample.status}${obs.model ? ` (model ${obs.model})` : ''}: ${outcome}`,
      at: now,
      upstreamName: upstream.config.name,
      keyName: key.name,
      fingerprint: key.fingerprint,
      status: obs.sample.status,
    });
  }

  return {
    /** Runs a fired rule's actions; true when the key (or the key for this model) is out of service now. */
    run(rule: CompiledRule, obs: RuleObservation, retryAfter: string | undefined, now: number): boolean {
      const actions = rule.def.actions;
      const wantsOut = actions.includes('DISABLE_KEY') || actions.includes('BAN_KEY');
      const out = wantsOut && takeOut(rule, obs, retryAfter, now);
      if (actions.includes('ALERT')) {
        const outcome = !wantsOut ? 'alert only' : out ? `key ${obs.key.status === 'BANNED' ? 'banned' : 'taken out'}` : 'key kept in service by the max ejection cap';
        alert(rule, obs, outcome, now);
      }
      if (actions.includes('LOG')) deps.log.info(logFields(rule, obs), 'rule matched (LOG)');
      return out;
    },
    /** A successful response: may end the key's escalation history (see EscalationBook). */
    noteSuccess(obs: RuleObservation, now: number): void {
      if (book.noteSuccess(obs.key, obs.model, now)) void deps.lifecycle.resetDisableCount(obs.key.id);
    },
    forget(keyId: string): void {
      book.forget(keyId);
    },
  };
}

export type RuleActions = ReturnType<typeof createRuleActions>;
