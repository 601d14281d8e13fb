import { Agent } from 'undici';
import { NotFoundError, UserInputError } from '../errors.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import type { ApiKeyState, KeyStatus } from '../state/types.ts';
import type { KeyLifecycle } from './lifecycle.ts';
import { probeKey, type KeyProbeResult } from './probe.ts';

export interface KeyValidation extends KeyProbeResult {
  /** The status the key was moved to when results were applied; null when left as it was. */
  applied: KeyStatus | null;
}

export interface ValidateKeysOptions {
  apply?: boolean;
  /** Probes in flight at once; a pool of 10,000 keys must not open 10,000 connections. */
  concurrency?: number;
}

export const DEFAULT_PROBE_CONCURRENCY = 4;

/**
 * What applying a probe result does. Only verdicts that speak about the key
 * itself change it: 401/403 ban it (an admin unbans), 402 (billing) disables
 * it until re-enabled by hand, and a pass brings a DISABLED key back. A 429,
 * a 5xx, an unexpected other status or a network error may as well be the
 * upstream's or the probe's fault, so those are only reported. BANNED and
 * EXHAUSTED keys are never reactivated here.
 */
export function verdictFor(result: KeyProbeResult, key: ApiKeyState): KeyStatus | null {
  if (result.ok) return key.status === 'DISABLED' ? 'ACTIVE' : null;
  if (result.status === 401 || result.status === 403) return key.status === 'BANNED' ? null : 'BANNED';
  if (result.status === 402) return key.status === 'ACTIVE' ? 'DISABLED' : null;
  return null;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Probes an upstream's keys (all, or the given ones) and optionally applies the verdicts through the lifecycle. */
export async function validateKeys(
  deps: { state: GatewayState; lifecycle: KeyLifecycle },
  upstreamId: string,
  keyIds: readonly string[] | null,
  opts: ValidateKeysOptions = {},
): Promise<KeyValidation[]> {
  const runtime = deps.state.upstreamsById.get(upstreamId);
  if (!runtime) throw new NotFoundError(`no upstream with id ${upstreamId}`, 'upstreamId');
  const upstream = runtime.config;
  if (!upstream.probe) throw new UserInputError('upstreamId: the upstream has no probe configured', 'upstreamId');
  const keys = keyIds
    ? keyIds.map((id, i) => {
        const key = runtime.keys.get(id);
        if (!key) throw new NotFoundError(`no key with id ${id} in this upstream`, `keyIds.${i}`);
        return key;
      })
    : [...runtime.keys.values()];
  const concurrency = Math.max(1, Math.min(32, opts.concurrency ?? DEFAULT_PROBE_CONCURRENCY));
  const dispatcher = new Agent({ connections: concurrency, connect: { timeout: Math.min(upstream.connectTimeoutMs, 30_000) } });
  try {
    return await mapLimit(keys, concurrency, async (key) => {
      const result = await probeKey(upstream, key, { dispatcher });
      const to = opts.apply ? verdictFor(result, key) : null;
      if (to !== null) {
        const reason = result.ok ? 'probe passed' : `probe failed: ${result.error}`;
        await deps.lifecycle.transition(key.id, to, { actor: 'ADMIN', reason, until: null });
      }
      return { ...result, applied: to };
    });
  } finally {
    await dispatcher.destroy().catch(() => {});
  }
}
