import { Agent } from 'undici';
import { createCipher } from '../../crypto/cipher.ts';
import { PROBE_RETRY_MS } from '../../keys/probe-return.ts';
import { probeKey } from '../../keys/probe.ts';
import { toKeyState, toUpstreamConfig } from '../../state/map-rows.ts';
import type { JobContext } from '../worker-runtime.ts';

export type ProbeVerdicts = Map<string, { ok: boolean; reason: string; retryInMs: number }>;

const CONCURRENT_PROBES = 8;

/**
 * Probes the overdue keys of upstreams that have a probe, with the rules
 * helper's probeKey (the same request the timer path and validateKeys send).
 * Keys of upstreams without a probe get no verdict and return at once. The
 * secrets are decrypted here, in the worker, only for the keys probed, and
 * never leave it: verdicts carry probeKey's fixed phrases only.
 */
export async function probeDisabledKeys(ctx: JobContext, keys: Array<{ id: string; upstreamId: string }>): Promise<ProbeVerdicts> {
  const verdicts: ProbeVerdicts = new Map();
  if (keys.length === 0) return verdicts;
  const { prisma } = ctx.db;
  const upstreams = await prisma.upstream.findMany({ where: { id: { in: [...new Set(keys.map((k) => k.upstreamId))] }, probe: { not: null } } });
  if (upstreams.length === 0) return verdicts;
  if (!ctx.run.masterKey) throw new Error('key-reenable needs the master key to probe keys');
  const cipher = createCipher(Buffer.from(ctx.run.masterKey, 'base64'));
  const configs = new Map(upstreams.map((u) => [u.id, toUpstreamConfig(u)]));
  const rows = await prisma.apiKey.findMany({ where: { id: { in: keys.filter((k) => configs.has(k.upstreamId)).map((k) => k.id) } } });

  const dispatcher = new Agent({ connections: CONCURRENT_PROBES });
  try {
    let next = 0;
    const lane = async () => {
      while (next < rows.length && !ctx.cancelled()) {
        const row = rows[next++]!;
        let key;
        try {
          key = toKeyState(row, cipher);
        } catch {
          verdicts.set(row.id, { ok: false, reason: 'the stored key cannot be decrypted', retryInMs: PROBE_RETRY_MS });
          continue;
        }
        const result = await probeKey(configs.get(row.upstreamId)!, key, { dispatcher });
        verdicts.set(row.id, { ok: result.ok, reason: result.error ?? 'failed', retryInMs: PROBE_RETRY_MS });
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENT_PROBES, rows.length) }, lane));
  } finally {
    await dispatcher.close().catch(() => {});
  }
  return verdicts;
}
