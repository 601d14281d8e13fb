import type { UpstreamRuntime } from '../state/gateway-state.ts';
import type { ApiKeyState, ResponseSample } from '../state/types.ts';
import type { EvalBoundsStats } from './eval-bounds.ts';

/**
 * How the proxy asks the rule engine about one upstream response.
 * 'headers': status, headers and latency are known (rules that read no body);
 * 'body': the response has ended and its captured body is known (only the rules that read it);
 * 'all': both at once (a buffered response): every rule.
 * Each rule sees each response exactly once.
 */
export type RulePhase = 'headers' | 'body' | 'all';

export interface RuleObservation {
  upstream: UpstreamRuntime;
  key: ApiKeyState;
  /** From the request's JSON `model` (or the upstream's modelPath); null when unknown. */
  model: string | null;
  requestId: string;
  /** `body` is null in the 'headers' phase. */
  sample: ResponseSample;
}

export interface RuleOutcome {
  /** Rules whose condition matched, in priority order (recorded on the log row). */
  matchedRuleIds: string[];
  /** A DISABLE_KEY or BAN_KEY fired for this key (or this key and model): the proxy retries elsewhere if it still can. */
  keyTakenOut: boolean;
}

export interface RuleRuntime {
  observe(obs: RuleObservation, phase: RulePhase): RuleOutcome;
  /** Drops the firing state of a deleted key. */
  forgetKey(keyId: string): void;
  /** Bodies too deep to parse for rules, and JSONPath evaluations that ran out of budget (since start). */
  readonly bounds: EvalBoundsStats;
}
