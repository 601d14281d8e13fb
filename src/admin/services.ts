import type { AdminDeps } from './deps.ts';
import { keyAdmin } from './keys.ts';
import { ruleAdmin } from './rules.ts';
import { tokenAdmin } from './tokens.ts';
import { upstreamAdmin } from './upstreams.ts';

export type AdminServices = ReturnType<typeof createAdminServices>;

/** Every admin write goes through here: validate, store, update the in-memory state, publish. */
export function createAdminServices(deps: AdminDeps) {
  return {
    ...deps,
    upstreams: upstreamAdmin(deps),
    keys: keyAdmin(deps),
    rules: ruleAdmin(deps),
    tokens: tokenAdmin(deps),
  };
}
