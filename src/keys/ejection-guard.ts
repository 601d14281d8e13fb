import type { UpstreamRuntime } from '../state/gateway-state.ts';
import type { ApiKeyState } from '../state/types.ts';

/**
 * Whether a rule may take `key` out (for `model` only, when given) without
 * leaving more than the upstream's `maxEjectionPercent` of its keys out of
 * service: an upstream-wide failure (provider outage, an IP ban) must not
 * empty the pool (Envoy's max_ejection_percent; gpt-load #143).
 *
 * - The pool is every key that is not EXHAUSTED (quota is not health).
 * - "Out" is every key DISABLED or BANNED, whoever did it (admin too), plus,
 *   for a per-model take-out, keys cooling for that model: the cap protects
 *   what is left to serve, so a pool an admin already thinned loses less.
 * - Like Envoy, at least one key may always go when the percentage is above
 *   0 (so a one-key upstream can still rest its key on a 429); 0 means rules
 *   never take keys out, 100 means no cap.
 * - BAN_KEY counts too: an upstream answering 401 for every key is more
 *   likely broken than every key revoked, and bans need a human to undo.
 *
 * O(keys in the upstream), and only called when a rule fires.
 */
export function mayTakeOut(upstream: UpstreamRuntime, key: ApiKeyState, model: string | null, now: number): boolean {
  const percent = upstream.config.maxEjectionPercent;
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  let pool = 0;
  let out = 0;
  for (const k of upstream.keys.values()) {
    if (k.status === 'EXHAUSTED') continue;
    pool++;
    if (k.id === key.id) continue;
    if (k.status !== 'ACTIVE') out++;
    else if (model !== null) {
      const until = k.modelCooldowns.get(model);
      if (until !== undefined && until > now) out++;
    }
  }
  const allowed = Math.max(1, Math.floor((pool * percent) / 100));
  return out + 1 <= allowed;
}
