import type { PrismaClient } from '../generated/prisma/client.ts';
import type { ConfigChanged } from '../events/bus.ts';
import type { GatewayState } from './gateway-state.ts';

/**
 * Re-reads into memory what a `config:changed` names: after an admin write
 * here (commit) and, in cluster mode, when another instance announces one.
 */
export async function reloadChanged(prisma: PrismaClient, state: GatewayState, change: ConfigChanged): Promise<void> {
  switch (change.kind) {
    case 'upstream':
      await state.reloadUpstream(change.id);
      break;
    case 'key':
      // A deleted key is removed, a changed one re-read.
      await state.reloadKey(change.id);
      break;
    case 'rules':
      await state.reloadRules();
      break;
    case 'tokens':
      await state.reloadTokens();
      break;
    case 'rateLimits':
      await state.limits.load();
      break;
    case 'quotaReset':
      // The stored count (0 at the reset, plus what was stored since) replaces memory's.
      for (const id of change.keyIds) await state.reloadKey(id, { takeUsedFromDb: true });
      break;
    case 'all': {
      await state.reloadRules();
      // Upstreams known before the write and those stored now: deleted ones leave memory, new ones enter.
      const stored = (await prisma.upstream.findMany({ select: { id: true } })).map((u) => u.id);
      for (const id of new Set([...state.upstreamsById.keys(), ...stored])) await state.reloadUpstream(id);
      await state.reloadTokens();
      await state.limits.load();
      break;
    }
  }
}
