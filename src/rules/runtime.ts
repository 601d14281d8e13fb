import type { EventBus } from '../events/bus.ts';
import type { KeyLifecycle } from '../keys/lifecycle.ts';
import { createRuleActions } from '../keys/rule-actions.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import type { UpstreamConfig } from '../state/types.ts';
import { createEvalContext } from './eval-context.ts';
import { boundsReporter } from './bounds-report.ts';
import type { CompiledRule } from './evaluate.ts';
import { createRuleTracker } from './rule-tracker.ts';
import type { SharedRuleTracker } from './shared-rule-tracker.ts';
import type { RuleObservation, RuleOutcome, RulePhase, RuleRuntime } from './runtime-types.ts';
import { explicitlyTargetsStatus, isClientError } from './status-guard.ts';

export interface RuleRuntimeDeps {
  lifecycle: KeyLifecycle;
  state: GatewayState;
  events: EventBus;
  log: Logger;
  now?: () => number;
  /** Next quota reset of an upstream (epoch ms); see keys/quota-schedule.ts. */
  quotaResetAt: (upstream: UpstreamConfig, now: number) => number | null;
  /** Cluster mode: firing state shared in Redis (the local tracker decides while Redis is degraded). */
  shared?: SharedRuleTracker | null;
}

const NOTHING = (): void => {};

function inPhase(rule: CompiledRule, phase: RulePhase): boolean {
  if (phase === 'all') return true;
  return phase === 'body' ? rule.needsBody : !rule.needsBody;
}

/**
 * Evaluates an upstream's rules against each response, feeds the firing
 * state (threshold, consecutive, cooldown) and runs the actions of the rules
 * that fire. Synchronous and cheap: state changes land in memory at once and
 * are stored by the lifecycle in the background.
 */
export function createRuleRuntime(deps: RuleRuntimeDeps): RuleRuntime {
  const now = deps.now ?? Date.now;
  const tracker = createRuleTracker({ now });
  const actions = createRuleActions({ lifecycle: deps.lifecycle, events: deps.events, log: deps.log, now, quotaResetAt: deps.quotaResetAt });
  // Whether a rule names a client-error status on purpose; conditions never change after compiling.
  const targets = new WeakMap<CompiledRule, Map<number, boolean>>();
  const failedRules = new WeakSet<CompiledRule>();
  const bounds = boundsReporter(deps.log, now);

  function targetsStatus(rule: CompiledRule, status: number): boolean {
    let byStatus = targets.get(rule);
    if (byStatus === undefined) targets.set(rule, (byStatus = new Map()));
    let explicit = byStatus.get(status);
    if (explicit === undefined) byStatus.set(status, (explicit = explicitlyTargetsStatus(rule.def.condition, status)));
    return explicit;
  }

  function test(rule: CompiledRule, ctx: ReturnType<typeof createEvalContext>): boolean {
    try {
      return rule.condition.test(ctx);
    } catch (error) {
      // Compiled conditions are total; this guards the hot path against a bug, logged once per rule.
      if (!failedRules.has(rule)) {
        failedRules.add(rule);
        deps.log.error({ err: error, ruleId: rule.def.id }, 'rule condition threw; treated as not matching');
      }
      return false;
    }
  }

  function observe(obs: RuleObservation, phase: RulePhase): RuleOutcome {
    const outcome: RuleOutcome = { matchedRuleIds: [], keyTakenOut: false };
    const { status } = obs.sample;
    const at = now();
    const rules = obs.upstream.rules;
    if (rules.length > 0) {
      const ctx = createEvalContext(obs.sample, bounds.forResponse(obs.upstream.config.name, obs.requestId));
      // Client-caused errors say nothing about the key: only rules that name the status see them.
      const clientError = isClientError(status);
      for (const rule of rules) {
        if (!rule.def.enabled || !inPhase(rule, phase)) continue;
        if (clientError && !targetsStatus(rule, status)) continue;
        const matched = test(rule, ctx);
        if (matched) outcome.matchedRuleIds.push(rule.def.id);
        const subject = rule.def.scope === 'KEY_MODEL' && obs.model !== null ? `${obs.key.id}|${obs.model}` : obs.key.id;
        // Cluster mode: counted in Redis without waiting; the claimed firing acts one round trip later.
        if (deps.shared?.active) {
          const retryAfter = matched ? ctx.header('retry-after') : undefined;
          deps.shared.observe(rule.def, subject, matched, matched ? () => void actions.run(rule, obs, retryAfter, now()) : NOTHING);
          continue;
        }
        // A rule that did not match counts as a success for it (resets a consecutive streak).
        if (!tracker.observe(rule.def, subject, matched, at)) continue;
        if (actions.run(rule, obs, ctx.header('retry-after'), at)) outcome.keyTakenOut = true;
      }
    }
    if (!outcome.keyTakenOut && phase !== 'body' && status >= 200 && status < 400) actions.noteSuccess(obs, at);
    return outcome;
  }

  return {
    observe,
    bounds: bounds.stats,
    forgetKey(keyId) {
      tracker.forget(keyId);
      deps.shared?.forget(keyId);
      actions.forget(keyId);
    },
  };
}

/**
 * Drops the firing and escalation state of keys deleted through the admin
 * API (announced as `config:changed` of kind 'key'). Returns a stop function.
 */
export function forgetDeletedKeys(events: EventBus, state: GatewayState, runtime: RuleRuntime): () => void {
  const changes = events.subscribe('config:changed');
  void (async () => {
    for await (const change of changes) {
      if (change.kind === 'key' && !state.keys.has(change.id)) runtime.forgetKey(change.id);
    }
  })();
  return () => void changes.return?.();
}
