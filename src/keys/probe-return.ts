import type { GatewayState } from '../state/gateway-state.ts';
import type { ReturnCheck } from './lifecycle.ts';
import { probeKey } from './probe.ts';

/** How much longer a key stays DISABLED when the probe before its return fails. */
export const PROBE_RETRY_MS = 60_000;

/**
 * The lifecycle's check before a timer returns a DISABLED key: when the
 * key's upstream has a probe, the key comes back only if the probe passes;
 * otherwise it stays out PROBE_RETRY_MS more and is probed again then (a
 * fixed period keeps this simple; the re-enable job is the safety net).
 * Upstreams without a probe return keys at once, as before.
 */
export function createProbeReturnCheck(state: GatewayState, retryInMs = PROBE_RETRY_MS): ReturnCheck {
  return (key) => {
    const upstream = state.upstreamsById.get(key.upstreamId)?.config;
    if (!upstream?.probe) return null;
    return probeKey(upstream, key).then((result) => ({ ok: result.ok, reason: result.error ?? 'failed', retryInMs }));
  };
}
