// The safety net under the events: every few minutes, and right after Redis
// comes back from an outage (events sent meanwhile are lost), the in-memory
// state is compared with the database and what differs is re-read. Only what
// differs: re-installing an unchanged upstream would rebuild its key pool and
// connection pool for nothing.

import type { SecretCipher } from '../crypto/cipher.ts';
import type { ConfigChanged, EventBus } from '../events/bus.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { GatewayState } from '../state/gateway-state.ts';
import { toKeyState, toUpstreamConfig } from '../state/map-rows.ts';
import type { ApiKeyState } from '../state/types.ts';
import type { KeyChangeClock } from './remote-events.ts';

export interface FullReloadDeps {
  prisma: PrismaClient;
  state: GatewayState;
  cipher: SecretCipher;
  bus: EventBus;
  clock: KeyChangeClock;
  /** Resolves once this instance's own key changes so far are stored (memory runs ahead of the database for them). */
  flushed(): Promise<void>;
}

export interface ReloadResult {
  upstreams: number;
  keys: number;
}

/** Re-reads what differs from the database; each difference is announced locally as a `config:changed` (never sent to the others). */
export async function reloadDifferences(deps: FullReloadDeps): Promise<ReloadResult> {
  const { prisma, state, bus } = deps;
  const changes: ConfigChanged[] = [];
  await state.reloadRules();
  await state.reloadTokens();
  await state.limits.load();

  const rows = await prisma.upstream.findMany();
  const stored = new Set(rows.map((r) => r.id));
  for (const row of rows) {
    const known = state.upstreamsById.get(row.id);
    if (known && JSON.stringify(known.config) === JSON.stringify(toUpstreamConfig(row))) continue;
    await state.reloadUpstream(row.id);
    changes.push({ kind: 'upstream', id: row.id });
  }
  for (const id of [...state.upstreamsById.keys()]) {
    if (stored.has(id)) continue;
    state.removeUpstream(id);
    changes.push({ kind: 'upstream', id });
  }
  const upstreams = changes.length;

  const started = Date.now();
  await deps.flushed();
  const keys = await prisma.apiKey.findMany({ include: { modelCooldowns: true } });
  // Changes this instance made while the rows were read are stored by now; a key changed by event since `started` is newer than its row.
  await deps.flushed();
  const seen = new Set<string>();
  for (const row of keys) {
    seen.add(row.id);
    if (deps.clock.touchedSince(row.id, started) || !state.upstreamsById.has(row.upstreamId)) continue;
    const known = state.keys.get(row.id);
    const fresh = toKeyState(row, deps.cipher);
    if (known && sameKey(known, fresh)) continue;
    if (known) state.apply(known, { type: 'replace', fresh, keepUsed: true });
    else await state.reloadKey(row.id);
    changes.push({ kind: 'key', id: row.id, upstreamId: row.upstreamId });
  }
  for (const [id, key] of [...state.keys]) {
    if (seen.has(id) || deps.clock.touchedSince(id, started)) continue;
    state.removeKey(id);
    changes.push({ kind: 'key', id, upstreamId: key.upstreamId });
  }
  deps.clock.forget((id) => state.keys.has(id));
  for (const change of changes) bus.deliverRemote('config:changed', change);
  return { upstreams, keys: changes.length - upstreams };
}

/** Everything but the usage count, which this instance counts ahead of the stored one. */
function sameKey(a: ApiKeyState, b: ApiKeyState): boolean {
  if (a.status !== b.status || a.disabledUntil !== b.disabledUntil || a.statusReason !== b.statusReason || a.disableCount !== b.disableCount) return false;
  if (a.name !== b.name || a.secret !== b.secret || a.weight !== b.weight || a.quotaLimit !== b.quotaLimit || a.quotaResetAt !== b.quotaResetAt) return false;
  if (a.modelCooldowns.size !== b.modelCooldowns.size) return false;
  for (const [model, until] of a.modelCooldowns) if (b.modelCooldowns.get(model) !== until) return false;
  return true;
}
