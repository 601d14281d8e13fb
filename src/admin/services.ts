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
import { rateLimitAdmin } from './rate-limits.ts';
import { validateKeys } from '../keys/validate-keys.ts';
import { readScriptSecrets, scriptSecretNames } from '../scripts/script-secrets.ts';

export type AdminServices = ReturnType<typeof createAdminServices>;

/** Every admin write goes through here: validate, store, update the in-memory state, publish. */
export function createAdminServices(deps: AdminDeps) {
  const keys = keyAdmin(deps);
  const { prisma, sql, state, events, log } = deps;
  return {
    // What resolvers read directly: Pothos' Prisma client, raw reads, the
    // in-memory view, the bus for subscriptions, the logger. The cipher, the
    // lifecycle and commit stay with the services that need them.
    prisma,
    sql,
    state,
    events,
    log,
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
    /** The little of the cipher resolvers and the config file need; the cipher itself stays out of their reach. */
    secrets: {
      scriptSecretNames: (stored: string | null) => scriptSecretNames(stored, deps.cipher),
      /** For a dry run of a script (testHeaderScript), never returned. */
      scriptSecrets: (stored: string | null) => readScriptSecrets(stored, deps.cipher),
      keyHash: (value: string) => deps.cipher.hash(value),
    },
    /** Probes keys (and with `apply` changes their state through the lifecycle). */
    validateKeys: (upstreamId: string, keyIds: string[] | null, opts: { apply: boolean }) => validateKeys(deps, upstreamId, keyIds, opts),
  };
}
