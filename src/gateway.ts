import type { Hooks } from 'crossws';
import type { Config } from './config.ts';
import { createApp } from './app.ts';
import { createAdminServices, type AdminServices } from './admin/services.ts';
import { createCommit } from './admin/commit.ts';
import { setupAdminAuth, type AdminAuth } from './auth/admin-auth.ts';
import { createCipher, type SecretCipher } from './crypto/cipher.ts';
import type { UpstreamConfig } from './state/types.ts';
import { loadMasterKey } from './crypto/master-key.ts';
import { checkMasterKey } from './crypto/master-key-check.ts';
import { migrateDatabase, openDatabase, type Db } from './db/client.ts';
import { listMigrations } from './db/migrate.ts';
import { createEventBus, type EventBus } from './events/bus.ts';
import { PublishedRelations } from './graphql/published-relations.ts';
import { createGraphQLServer } from './graphql/yoga.ts';
import { createGraphQLWsHooks } from './graphql/ws.ts';
import { KeyLifecycle } from './keys/lifecycle.ts';
import { createProbeReturnCheck } from './keys/probe-return.ts';
import { armTimersOnChanges } from './keys/timer-sync.ts';
import { nextQuotaResetAt } from './keys/quota-schedule.ts';
import { createRuleRuntime, forgetDeletedKeys } from './rules/runtime.ts';
import type { RuleRuntime } from './rules/runtime-types.ts';
import type { Logger } from './logger.ts';
import { tuneGcForProxying } from './proxy/gc-tuning.ts';
import { createProxyHandler } from './proxy/route.ts';
import { Registry } from 'prom-client';
import { QuotaGate } from './keys/quota.ts';
import { QuotaLeases, type QuotaLeaseDeps } from './keys/quota-lease.ts';
import { createSharedRuleTracker } from './rules/shared-rule-tracker.ts';
import { createRedisRateLimiter } from './ratelimit/redis-limiter.ts';
import { SharedKeyLimits } from './ratelimit/shared-key-limits.ts';
import { UsageCounters } from './keys/usage-counters.ts';
import { LogWriter } from './logs/log-writer.ts';
import { createRedactor } from './logs/redact.ts';
import { createProxyMetrics, metricsEndpoint } from './metrics/proxy-metrics.ts';
import { RetryBudget } from './proxy/retry-budget.ts';
import { sweepOnConfigChange, UpstreamTargets } from './proxy/upstream-targets.ts';
import { GatewayState } from './state/gateway-state.ts';
import { JobService } from './jobs/job-service.ts';
import { databaseReadiness, withRedisReadiness } from './server/readiness.ts';
import { listen } from './server/listen.ts';
import { holdInstanceLease } from './instance/hold-lease.ts';
import { checkLeaseBeforeMigrating } from './instance/lease-precheck.ts';
import { registerRateLimitMetrics } from './ratelimit/rate-limit-metrics.ts';
import { forgetDeletedTargets } from './ratelimit/forget-deleted-targets.ts';
import { applyConfigFile } from './config-file/apply-config-file.ts';
import { loadConfigFile } from './config-file/load-config-file.ts';
import { loadScriptEngine } from './scripts/engine.ts';
import { buildUpstreamScript } from './scripts/upstream-script.ts';
import { RateLimits } from './ratelimit/rate-limits.ts';
import { compileRule } from './rules/evaluate.ts';
import { registerScriptMetrics } from './scripts/script-metrics.ts';
import { createNotifications, type Notifications } from './notifications/service.ts';
import { missingSmtpSetting } from './notifications/email-sender.ts';
import type { ClusterRedis } from './cluster/redis.ts';
import { joinCluster } from './cluster/join-cluster.ts';
import { startClusterSync, type ClusterSync } from './sync/start-sync.ts';
import { registerSyncMetrics } from './sync/sync-metrics.ts';

export interface Gateway {
  url: string;
  db: Db;
  state: GatewayState;
  events: EventBus;
  services: AdminServices;
  lifecycle: KeyLifecycle;
  /** Evaluates rules on upstream responses; the proxy calls it for every attempt. */
  ruleRuntime: RuleRuntime;
  /** Scheduled jobs (running only with KEYRELAY_JOBS). */
  jobs: JobService;
  /** The batched request-log (and usage) writer; flush() stores what is queued. */
  logs: LogWriter;
  /** Per-key usage counted by the proxy, not stored yet. */
  usage: UsageCounters;
  /** Notification channels, stored alerts, and the senders (webhook, email). */
  notifications: Notifications;
  /** Cluster mode's Redis (KEYRELAY_REDIS_URL); null for a single instance. */
  cluster: ClusterRedis | null;
  /** Cluster mode: events to and from the other instances, and the state they keep current; null for a single instance. */
  sync: ClusterSync | null;
  /** Set only on the first start without KEYRELAY_ADMIN_TOKEN (stored once serving); main prints it once. */
  generatedAdminToken: string | null;
  /** Stops serving (waiting up to `drainMs` for in-flight requests), stops jobs, flushes logs, closes the database. */
  close(opts?: { drainMs?: number }): Promise<void>;
}

/**
 * Boot order: database (migrate) -> master key -> admin auth -> state ->
 * lifecycle -> jobs (loaded, started last) -> rule runtime -> admin API and
 * GraphQL -> log writer and proxy -> server. Every dependency is built here and passed
 * down, so tests start a whole gateway on a temp database in one call.
 */
export async function startGateway(config: Config, log: Logger): Promise<Gateway> {
  tuneGcForProxying();
  // A broken config file stops the start before the database is touched.
  const configFile = config.KEYRELAY_CONFIG ? loadConfigFile(config.KEYRELAY_CONFIG) : null;
  const db = await migrateAndOpen(config, log);
  const cleanups: Array<() => Promise<void> | void> = [() => db.close()];
  try {
    // In cluster mode instances share the database on purpose; alone, one instance holds it.
    const cluster = config.cluster ? await joinCluster(config, db, log, cleanups) : null;
    if (!cluster) await holdInstanceLease(config, db, log, cleanups);
    const { master, cipher } = await openSecrets(config, db, log);
    const { auth, generated, persist: persistAdminToken } = await setupAdminAuth(db.prisma, config.KEYRELAY_ADMIN_TOKEN);

    const { state, scripts } = await loadState(config, db, cipher, cleanups, cluster !== null);
    const events = createEventBus();
    // Started now (on SQLite a worker thread and its connection) so the first rule-fired change does not wait for it.
    await db.writer.query('SELECT 1');
    const lifecycle = startLifecycle(config, db, state, events, log, cleanups);
    // Counted by the proxy, stored by the log writer; the admin API's quota reset discards pending charges.
    const usage = new UsageCounters();
    const leases = cluster ? await startQuotaLeases(cluster, { sql: db.sql, state, lifecycle, log }, usage, cleanups) : null;
    const jobs = new JobService({ config, db, state, events, lifecycle, log, masterKey: master.key, usage });
    await jobs.load();
    // The quota period is quota-reset's schedule (environment or setJobSchedule).
    const quotaResetAt = (upstream: UpstreamConfig, now: number) => nextQuotaResetAt(upstream, jobs.quotaCron(), config.KEYRELAY_TIMEZONE, now);
    const shared = cluster ? createSharedRuleTracker({ redis: cluster.commands, prefix: cluster.prefix, health: cluster.health, instanceId: cluster.instanceId, log }) : null;
    if (shared) cleanups.push(() => shared.close());
    const ruleRuntime = createRuleRuntime({ lifecycle, state, events, log, quotaResetAt, shared });
    cleanups.push(forgetDeletedKeys(events, state, ruleRuntime));
    cleanups.push(forgetDeletedTargets(events, db.prisma, state, log));

    const smtpMissing = missingSmtpSetting({ url: config.KEYRELAY_SMTP_URL, from: config.KEYRELAY_SMTP_FROM });
    const services = createAdminServices({ prisma: db.prisma, sql: db.sql, state, events, cipher, lifecycle, log, usage, smtpMissing, commit: createCommit({ prisma: db.prisma, state, events }) });
    // Cluster mode: before the config file, so what applying it changes reaches the running instances too.
    const sync = cluster ? await startClusterSync({ cluster, events, state, prisma: db.prisma, cipher, flushed: () => lifecycle.flushed(), log, discardQuota: (id) => usage.discardQuota(id) }) : null;
    if (sync) cleanups.push(() => sync.close());
    if (configFile) await applyConfigFile(services, configFile, log);
    const registry = new Registry();
    // Listens on the bus and sends from its own bounded queue: nothing on the proxy path waits for it.
    const notifications = await createNotifications({ prisma: db.prisma, cipher, events, state, log, config, registry });
    cleanups.push(() => notifications.stop());
    const { yoga, wsHooks } = createGraphQL({ config, services, events, jobs, notifications, auth, log }, cleanups);

    const { proxy, logs } = createProxyParts({ config, db, state, events, lifecycle, ruleRuntime, usage, leases, log, jobs, registry }, cleanups);
    registerRateLimitMetrics(registry, state.limits);
    if (cluster) shareRateLimits(cluster, state, log);
    registerScriptMetrics(registry, scripts);
    if (sync) registerSyncMetrics(registry, sync.stats);

    const readiness = withRedisReadiness(databaseReadiness(db.sql, (await listMigrations(db.target.provider)).length), cluster);
    const app = createApp({ yoga, wsHooks, proxy, metrics: metricsEndpoint(registry), graphqlMaxBodyBytes: config.KEYRELAY_GRAPHQL_MAX_BODY_BYTES, readiness });
    // Streams still open at the drain deadline get their SSE error event first, as when an upstream fails.
    const { url, close: drain } = await listen(app, { port: config.PORT, host: config.HOST, log, interruptStreams: () => proxy.inFlight.interruptStreams() });
    let drainMs = 0;
    cleanups.push(() => drain(drainMs));
    // Only now: a start that failed before serving leaves no token behind that nobody saw work.
    await persistAdminToken();
    if (config.KEYRELAY_JOBS) {
      // Started once the gateway serves; stopped first at close (cleanups run in reverse), before the database closes.
      await jobs.start();
      cleanups.push(() => jobs.stop());
    }

    return {
      ...{ url, db, state, events, services, lifecycle, ruleRuntime, jobs, logs, usage, notifications, cluster, sync },
      generatedAdminToken: generated,
      async close(opts = {}) {
        drainMs = opts.drainMs ?? 0;
        for (const cleanup of cleanups.reverse()) await cleanup();
      },
    };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup();
    throw error;
  }
}

/**
 * Keys of upstreams with a health probe are probed before a timer returns
 * them. In cluster mode every instance arms every return timer; the first to
 * claim a return stores it.
 */
function startLifecycle(config: Config, db: Db, state: GatewayState, events: EventBus, log: Logger, cleanups: Array<() => Promise<void> | void>): KeyLifecycle {
  const lifecycle = new KeyLifecycle({ sql: db.writer, state, events, log, returnCheck: createProbeReturnCheck(state), claimTimers: config.cluster });
  lifecycle.restoreTimers();
  cleanups.push(() => lifecycle.stop());
  if (config.cluster) cleanups.push(armTimersOnChanges({ events, state, lifecycle, log }));
  return lifecycle;
}

/** Migrations first: on SQLite the schema engine needs the file to itself, before any other connection. */
async function migrateAndOpen(config: Config, log: Logger): Promise<Db> {
  // On SQLite the migration would wait on a running instance's lock and fail unhelpfully: the lease is checked first.
  if (!config.KEYRELAY_TEST_SHARED_DATABASE) await checkLeaseBeforeMigrating(config.database, config.KEYRELAY_INSTANCE_LEASE_MS);
  const applied = await migrateDatabase(config.database, (line) => log.debug({ engine: line }, 'schema engine'));
  log.info({ provider: config.database.provider, applied }, applied.length ? 'applied migrations' : 'database schema up to date');
  return openDatabase(config.database);
}

/** GraphQL over HTTP, SSE and WebSocket, one Yoga envelop for all three. */
function createGraphQL(
  parts: { config: Config; services: AdminServices; events: EventBus; jobs: JobService; notifications: Notifications; auth: AdminAuth; log: Logger },
  cleanups: Array<() => Promise<void> | void>,
) {
  const { config, services, events, jobs, notifications, auth, log } = parts;
  const relations = new PublishedRelations();
  cleanups.push(relations.watch(events));
  const { graphiql, introspection, production, errorDetails, allowedOrigins } = config;
  const yoga = createGraphQLServer({ services, relations, jobs, notifications, auth, log, graphiql, introspection, production, errorDetails, allowedOrigins });
  const wsHooks = createGraphQLWsHooks(yoga, auth, allowedOrigins, log) as unknown as Partial<Hooks>;
  return { yoga, wsHooks };
}

/** Header scripts compile when their upstream loads into the state, so the engine comes first. */
async function loadState(config: Config, db: Db, cipher: SecretCipher, cleanups: Array<() => Promise<void> | void>, leaseQuota: boolean) {
  const scripts = await loadScriptEngine({ timeoutMs: config.KEYRELAY_SCRIPT_TIMEOUT_MS, memoryBytes: config.KEYRELAY_SCRIPT_MEMORY_MB * 1024 * 1024 });
  const state = new GatewayState(db.prisma, cipher, {
    compileRule,
    buildScript: (row) => buildUpstreamScript(row, cipher, scripts),
    limits: new RateLimits(db.prisma),
    scripts,
  });
  state.leaseQuota = leaseQuota;
  await state.loadAll();
  // Sandboxes live in the process-wide Wasm heap: free them with the gateway (tests start many).
  cleanups.push(() => {
    for (const runtime of state.upstreamsById.values()) runtime.script?.dispose();
  });
  return { state, scripts };
}

/** Cluster mode: quota in blocks leased from PostgreSQL; given back after the proxy drained (cleanups run in reverse). */
async function startQuotaLeases(cluster: ClusterRedis, deps: Omit<QuotaLeaseDeps, 'instanceId'>, usage: UsageCounters, cleanups: Array<() => Promise<void> | void>): Promise<QuotaLeases> {
  const leases = new QuotaLeases({ ...deps, instanceId: cluster.instanceId });
  // A quota reset voids this instance's block of the key with the period.
  usage.onDiscard = (keyId) => leases.reset(keyId);
  await leases.start();
  cleanups.push(() => leases.stop());
  return leases;
}

/** Cluster mode: token and upstream limits counted in Redis, and what each instance sent with a limited key. */
function shareRateLimits(cluster: ClusterRedis, state: GatewayState, log: Logger): void {
  const { commands: redis, prefix, health, instanceId } = cluster;
  state.limits.shared = createRedisRateLimiter({ redis, prefix, health, local: state.limits, log });
  state.limits.sharedKeys = new SharedKeyLimits({ redis, prefix, health, instanceId });
}

/** The master key (env, or a key file generated on first start) and the cipher, checked against the stored data. */
async function openSecrets(config: Config, db: Db, log: Logger) {
  const master = loadMasterKey(config.KEYRELAY_SECRET, config.dataDir);
  if (master.origin === 'generated') log.warn({ file: master.file }, 'generated a new master key file; back it up: stored keys cannot be read without it');
  else log.info({ origin: master.origin, file: master.file }, 'master key loaded');
  const cipher = createCipher(master.key);
  await checkMasterKey(db.prisma, cipher);
  return { master, cipher };
}

/**
 * The proxy and what it feeds: upstream connection pools, the request-log
 * writer, metrics. Cleanup (run in reverse, after the server closed): pools,
 * then pending key changes, then the last log/usage batch, before the
 * database closes.
 */
function createProxyParts(
  parts: { config: Config; db: Db; state: GatewayState; events: EventBus; lifecycle: KeyLifecycle; ruleRuntime: RuleRuntime; usage: UsageCounters; leases: QuotaLeases | null; log: Logger; jobs: JobService; registry: Registry },
  cleanups: Array<() => Promise<void> | void>,
) {
  const { config, db, state, events, lifecycle, ruleRuntime, usage, leases, log, jobs, registry } = parts;
  const logs = new LogWriter({ target: db.target, events, state, usage, log, flushMs: config.KEYRELAY_LOG_FLUSH_MS, queueMax: config.KEYRELAY_LOG_QUEUE_MAX });
  logs.start();
  const targets = new UpstreamTargets();
  const stopSweep = sweepOnConfigChange(events, state, targets);
  cleanups.push(async () => {
    stopSweep();
    await targets.close();
    await lifecycle.drain();
    await logs.close();
  });
  const proxy = createProxyHandler({
    state,
    targets,
    rules: ruleRuntime,
    quota: new QuotaGate({ state, lifecycle, usage, log, leases }),
    usage,
    logs,
    metrics: createProxyMetrics(registry, {
      state,
      logQueue: () => ({ depth: logs.depth, dropped: logs.dropped, rejected: logs.rejected }),
      ruleBounds: () => ruleRuntime.bounds,
      keyLabelCap: config.KEYRELAY_METRICS_KEY_LABELS,
    }),
    budget: new RetryBudget(),
    redactor: createRedactor(),
    log,
    maxRequestBodyBytes: config.KEYRELAY_MAX_REQUEST_BODY_BYTES,
    trustProxy: config.KEYRELAY_TRUST_PROXY,
    // Only the quota-reset job brings an EXHAUSTED key back: without jobs no return time is promised.
    quotaResetAt: config.KEYRELAY_JOBS ? (upstream, now) => nextQuotaResetAt(upstream, jobs.quotaCron(), config.KEYRELAY_TIMEZONE, now) : undefined,
  });
  return { proxy, logs };
}
