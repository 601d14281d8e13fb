// A limit's target is not a foreign key (it names one of three tables), so
// when an access token, upstream or key is deleted through the admin API
// (announced as config:changed) its limits are deleted here, and a deleted
// key's provider-reported budget is forgotten, as are those of an upstream
// that stopped respecting provider limits (its keys serve again at once).
// Off the hot path; a failure is logged and the next change tries again.

import type { PrismaClient } from '../generated/prisma/client.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import type { GatewayState } from '../state/gateway-state.ts';

async function deleteOrphans(prisma: PrismaClient, state: GatewayState): Promise<number> {
  const rows = await prisma.rateLimit.findMany({ select: { id: true, scope: true, targetId: true } });
  if (rows.length === 0) return 0;
  const ids = (scope: string) => [...new Set(rows.filter((r) => r.scope === scope).map((r) => r.targetId))];
  const [tokens, upstreams, keys] = await Promise.all([
    prisma.accessToken.findMany({ where: { id: { in: ids('ACCESS_TOKEN') } }, select: { id: true } }),
    prisma.upstream.findMany({ where: { id: { in: ids('UPSTREAM') } }, select: { id: true } }),
    prisma.apiKey.findMany({ where: { id: { in: ids('KEY') } }, select: { id: true } }),
  ]);
  const alive = new Set([...tokens, ...upstreams, ...keys].map((r) => r.id));
  const orphans = rows.filter((r) => !alive.has(r.targetId)).map((r) => r.id);
  if (orphans.length === 0) return 0;
  await prisma.rateLimit.deleteMany({ where: { id: { in: orphans } } });
  await state.limits.load();
  return orphans.length;
}

export function forgetDeletedTargets(events: EventBus, prisma: PrismaClient, state: GatewayState, log: Logger): () => void {
  const changes = events.subscribe('config:changed');
  void (async () => {
    for await (const change of changes) {
      if (change.kind === 'key' && !state.keys.has(change.id)) state.limits.forgetKey(change.id);
      if (change.kind === 'upstream') {
        const runtime = state.upstreamsById.get(change.id);
        if (runtime !== undefined && !runtime.config.respectProviderLimits) for (const keyId of runtime.keys.keys()) state.limits.forgetKey(keyId);
      }
      if (change.kind !== 'key' && change.kind !== 'upstream' && change.kind !== 'tokens') continue;
      try {
        const deleted = await deleteOrphans(prisma, state);
        if (deleted > 0) log.info({ deleted }, 'deleted the rate limits of deleted targets');
      } catch (error) {
        log.warn({ err: error }, 'could not delete the rate limits of deleted targets');
      }
    }
  })();
  return () => void changes.return?.();
}
