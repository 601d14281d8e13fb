import type { ApiKey, Rule, Upstream, AccessToken, KeyModelCooldown } from '../generated/prisma/client.ts';
import type { SecretCipher } from '../crypto/cipher.ts';
import { parseJson } from '../db/json-column.ts';
import type { AccessTokenState, ApiKeyState, RuleDefinition, UpstreamConfig, UpstreamProbe } from './types.ts';

export function toUpstreamConfig(row: Upstream): UpstreamConfig {
  return {
    id: row.id,
    name: row.name,
    baseUrl: row.baseUrl,
    enabled: row.enabled,
    strategy: row.strategy,
    authType: row.authType,
    authName: row.authName,
    headers: parseJson<Record<string, string>>(row.headers, {}),
    connectTimeoutMs: row.connectTimeoutMs,
    timeoutMs: row.timeoutMs,
    bodyTimeoutMs: row.bodyTimeoutMs,
    deadlineMs: row.deadlineMs,
    maxRetries: row.maxRetries,
    retryBaseMs: row.retryBaseMs,
    retryMaxMs: row.retryMaxMs,
    retryOnStatus: parseJson<number[]>(row.retryOnStatus, []),
    maxBufferedBodyBytes: row.maxBufferedBodyBytes,
    bodyLogging: row.bodyLogging,
    bodyLogMaxBytes: row.bodyLogMaxBytes,
    allowAnonymous: row.allowAnonymous,
    maxEjectionPercent: row.maxEjectionPercent,
    modelPath: row.modelPath,
    waitForKeyMs: row.waitForKeyMs,
    injectStreamUsage: row.injectStreamUsage,
    probe: parseJson<UpstreamProbe | null>(row.probe, null),
    quotaResetCron: row.quotaResetCron,
    quotaResetTimezone: row.quotaResetTimezone,
    respectProviderLimits: row.respectProviderLimits,
    headerScript: row.headerScript,
    scriptCanReadKey: row.scriptCanReadKey,
  };
}

export function toKeyState(row: ApiKey & { modelCooldowns?: KeyModelCooldown[] }, cipher: SecretCipher): ApiKeyState {
  return {
    id: row.id,
    upstreamId: row.upstreamId,
    name: row.name,
    secret: cipher.decrypt(row.secretCipher),
    fingerprint: row.fingerprint,
    status: row.status,
    disabledUntil: row.disabledUntil ? row.disabledUntil.getTime() : null,
    statusReason: row.statusReason,
    weight: row.weight,
    quotaLimit: row.quotaLimit,
    used: row.quotaUsed,
    leaseLeft: null,
    quotaResetAt: row.quotaResetAt ? row.quotaResetAt.getTime() : null,
    modelCooldowns: new Map((row.modelCooldowns ?? []).map((c) => [c.model, c.until.getTime()])),
    disableCount: row.disableCount,
  };
}

export function toRuleDefinition(row: Rule): RuleDefinition {
  return {
    id: row.id,
    upstreamId: row.upstreamId,
    name: row.name,
    condition: parseJson(row.condition, { status: { min: 0 } }),
    actions: parseJson(row.actions, []),
    threshold: row.threshold,
    windowSeconds: row.windowSeconds,
    consecutive: row.consecutive,
    cooldownSeconds: row.cooldownSeconds,
    disableMode: row.disableMode,
    disableForSeconds: row.disableForSeconds,
    escalate: row.escalate,
    maxDisableSeconds: row.maxDisableSeconds,
    scope: row.scope,
    priority: row.priority,
    enabled: row.enabled,
  };
}

export function toAccessTokenState(row: AccessToken): AccessTokenState {
  return {
    id: row.id,
    name: row.name,
    tokenHash: row.tokenHash,
    upstreamIds: parseJson<string[]>(row.upstreamIds, []),
    enabled: row.enabled && !row.revokedAt,
  };
}
