import type { PrismaClient } from '../generated/prisma/client.ts';
import type { SecretCipher } from '../crypto/cipher.ts';
import type { Upstream } from '../generated/prisma/client.ts';
import type { ScriptEngine } from '../scripts/engine.ts';
import type { UpstreamScript } from '../scripts/header-script.ts';
import type { RateLimits } from '../ratelimit/rate-limits.ts';
import type { CompiledRule } from '../rules/evaluate.ts';
import { KeyPool } from './key-pool.ts';
import { toAccessTokenState, toKeyState, toRuleDefinition, toUpstreamConfig } from './map-rows.ts';
import { applyKeyChange, replaceKeyState, type KeyMemoryChange } from './apply-key-change.ts';
import type { AccessTokenState, ApiKeyState, RuleDefinition, UpstreamConfig } from './types.ts';

/**
 * What the memory holds but does not build: the gateway's wiring passes the
 * rule compiler, the header-script builder and the rate limits in, so state/
 * imports no code from the layers above (only their types).
 */
export interface StateParts {
  /** Compiles a stored rule (rules/evaluate.ts). */
  compileRule(def: RuleDefinition): CompiledRule;
  /** An upstream row's compiled header script, null when it has none (scripts/upstream-script.ts). */
  buildScript(row: Upstream): UpstreamScript | null;
  /** Operator rate limits and provider-reported key limits; also the key pools' gate. */
  limits: RateLimits;
  /** Compiles header scripts; without it scripted upstreams fail closed (HEADER_SCRIPT_FAILED). */
  scripts: ScriptEngine | null;
}

// A pool serves round robin in the order its keys were added (ids sort by creation within a
// process), so the order is the same after every load, not whatever order the database returns.
const KEYS_IN_ORDER = { include: { modelCooldowns: true as const }, orderBy: [{ createdAt: 'asc' as const }, { id: 'asc' as const }] };

export interface UpstreamRuntime {
  config: UpstreamConfig;
  keys: Map<string, ApiKeyState>;
  pool: KeyPool;
  /** This upstream's rules and the global ones, in priority order. */
  rules: CompiledRule[];
  /** Bumped on every reload so caches built from the config (dispatchers) know to rebuild. */
  version: number;
  /** The compiled header script, built when the upstream is loaded; null costs a request one check. */
  script: UpstreamScript | null;
}

/**
 * The in-memory view the hot path reads: upstreams, their keys and rules, and
 * access tokens. Loaded at boot; the admin API and the key lifecycle call the
 * reload methods after they change the database, so nothing on the hot path
 * waits for it.
 */
export class GatewayState {
  readonly upstreamsByName = new Map<string, UpstreamRuntime>();
  readonly upstreamsById = new Map<string, UpstreamRuntime>();
  readonly keys = new Map<string, ApiKeyState>();
  readonly tokensByHash = new Map<string, AccessTokenState>();
  readonly tokensById = new Map<string, AccessTokenState>();
  private globalRules: CompiledRule[] = [];
  private rulesByUpstream = new Map<string, CompiledRule[]>();
  private versionCounter = 0;
  /** Operator rate limits and provider-reported key limits; also the key pools' gate. */
  readonly limits: RateLimits;
  /** Compiles header scripts (admin checks a script with it before it is saved). */
  readonly scripts: ScriptEngine | null;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly cipher: SecretCipher,
    private readonly parts: StateParts,
  ) {
    this.limits = parts.limits;
    this.scripts = parts.scripts;
  }

  async loadAll(): Promise<void> {
    await this.reloadRules();
    const upstreams = await this.prisma.upstream.findMany({ include: { keys: KEYS_IN_ORDER } });
    for (const row of upstreams) this.installUpstream(toUpstreamConfig(row), row.keys.map((k) => this.keyState(k)), false, this.scriptOf(row));
    await this.reloadTokens();
    await this.limits.load();
  }

  async reloadUpstream(id: string): Promise<void> {
    const row = await this.prisma.upstream.findUnique({ where: { id }, include: { keys: KEYS_IN_ORDER } });
    if (!row) return this.removeUpstream(id);
    this.installUpstream(toUpstreamConfig(row), row.keys.map((k) => this.keyState(k)), true, this.scriptOf(row));
  }

  /**
   * Cluster mode (keys/quota-lease.ts): a key starts with no block of its
   * quota, so a limited key is not offered until its first block is leased.
   */
  leaseQuota = false;

  private keyState(row: Parameters<typeof toKeyState>[0]): ApiKeyState {
    const key = toKeyState(row, this.cipher);
    if (this.leaseQuota) key.leaseLeft = 0;
    return key;
  }

  private scriptOf(row: Upstream): UpstreamScript | null {
    return this.parts.buildScript(row);
  }

  removeUpstream(id: string): void {
    const runtime = this.upstreamsById.get(id);
    if (!runtime) return;
    for (const keyId of runtime.keys.keys()) this.keys.delete(keyId);
    this.upstreamsById.delete(id);
    this.upstreamsByName.delete(runtime.config.name);
    this.rulesByUpstream.delete(id);
    runtime.script?.dispose();
  }

  /** Re-reads one key. `takeUsedFromDb` for changes that rewrite the count (a quota reset). */
  async reloadKey(id: string, opts: { takeUsedFromDb?: boolean } = {}): Promise<ApiKeyState | null> {
    const row = await this.prisma.apiKey.findUnique({ where: { id }, include: { modelCooldowns: true } });
    if (!row) {
      this.removeKey(id);
      return null;
    }
    const runtime = this.upstreamsById.get(row.upstreamId);
    if (!runtime) return null;
    const fresh = this.keyState(row);
    const known = this.keys.get(id);
    if (known) {
      applyKeyChange(this.upstreamsById, known, { type: 'replace', fresh, keepUsed: !opts.takeUsedFromDb });
      return known;
    }
    this.keys.set(id, fresh);
    runtime.keys.set(id, fresh);
    runtime.pool.upsert(fresh);
    return fresh;
  }

  /** Changes one in-memory key and tells its pool (see applyKeyChange). */
  apply(key: ApiKeyState, change: KeyMemoryChange): void {
    applyKeyChange(this.upstreamsById, key, change);
  }

  removeKey(id: string): void {
    const key = this.keys.get(id);
    if (!key) return;
    this.keys.delete(id);
    const runtime = this.upstreamsById.get(key.upstreamId);
    runtime?.keys.delete(id);
    runtime?.pool.remove(id);
  }

  async reloadRules(): Promise<void> {
    const rows = await this.prisma.rule.findMany({ where: { enabled: true } });
    const compiled = rows.map((r) => this.parts.compileRule(toRuleDefinition(r)));
    this.globalRules = compiled.filter((r) => r.def.upstreamId === null);
    this.rulesByUpstream = new Map();
    for (const rule of compiled) {
      if (rule.def.upstreamId === null) continue;
      const list = this.rulesByUpstream.get(rule.def.upstreamId) ?? [];
      list.push(rule);
      this.rulesByUpstream.set(rule.def.upstreamId, list);
    }
    for (const runtime of this.upstreamsById.values()) runtime.rules = this.rulesFor(runtime.config.id);
  }

  async reloadTokens(): Promise<void> {
    const rows = await this.prisma.accessToken.findMany();
    this.tokensByHash.clear();
    this.tokensById.clear();
    for (const row of rows) {
      const token = toAccessTokenState(row);
      this.tokensByHash.set(token.tokenHash, token);
      this.tokensById.set(token.id, token);
    }
  }

  private rulesFor(upstreamId: string): CompiledRule[] {
    return [...this.globalRules, ...(this.rulesByUpstream.get(upstreamId) ?? [])].sort(
      (a, b) => a.def.priority - b.def.priority || a.def.name.localeCompare(b.def.name),
    );
  }

  private installUpstream(config: UpstreamConfig, keys: ApiKeyState[], keepUsed: boolean, script: UpstreamScript | null = null): void {
    const previous = this.upstreamsById.get(config.id);
    if (previous) this.removeUpstream(config.id);
    const pool = new KeyPool(config.strategy, Math.random, this.limits);
    const runtime: UpstreamRuntime = { config, keys: new Map(), pool, rules: this.rulesFor(config.id), version: ++this.versionCounter, script };
    for (const key of keys) {
      // Keep the object identity of keys that in-flight requests may hold.
      const known = previous?.keys.get(key.id);
      const state = known ? replaceKeyState(known, key, keepUsed) : key;
      runtime.keys.set(key.id, state);
      this.keys.set(key.id, state);
      pool.upsert(state);
    }
    this.upstreamsById.set(config.id, runtime);
    this.upstreamsByName.set(config.name, runtime);
  }
}
