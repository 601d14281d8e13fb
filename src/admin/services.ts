import type { AdminDeps } from './deps.ts';
import { configTransfer } from './config-transfer.ts';
import { keyBulk } from './key-bulk.ts';
import { keyExport } from './key-export.ts';
import { keyImport } from './key-import.ts';
import { keyAdmin } from './keys.ts';
import { keyUpdate } from './key-update.ts';
import { ruleAdmin } from './rules.ts';
import { statsService } from './stats.ts';
import { tokenAdmin } from './tokens.ts';
import { upstreamAdmin } from './upstreams.ts';
import { rateLimitAdmin } from '../ratelimit/rate-limit-admin.ts';

export type AdminServices = ReturnType<typeof createAdminServices>;

/** Every admin write goes through here: validate, store, update the in-memory state, publish. */
export function createAdminServices(deps: AdminDeps) {
  const keys = keyAdmin(deps);
  return {
    ...deps,
    upstreams: upstreamAdmin(deps),
    keys,
    keyBulk: keyBulk(deps),
    keyUpdate: keyUpdate(deps),
    importKeys: keyImport(deps, keys),
    exportKeys: keyExport(deps),
    config: configTransfer(deps),
    stats: statsService(deps.sql, deps.state),
    rules: ruleAdmin(deps),
    tokens: tokenAdmin(deps),
    rateLimits: rateLimitAdmin(deps),
  };
}
