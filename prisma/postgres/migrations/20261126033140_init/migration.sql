-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "KeyStatus" AS ENUM ('ACTIVE', 'DISABLED', 'BANNED', 'EXHAUSTED');

-- CreateEnum
CREATE TYPE "KeyStrategy" AS ENUM ('ROUND_ROBIN', 'RANDOM', 'WEIGHTED');

-- CreateEnum
CREATE TYPE "AuthType" AS ENUM ('BEARER', 'HEADER', 'QUERY');

-- CreateEnum
CREATE TYPE "BodyLogging" AS ENUM ('OFF', 'ERRORS', 'ALL');

-- CreateEnum
CREATE TYPE "RuleScope" AS ENUM ('KEY', 'KEY_MODEL');

-- CreateEnum
CREATE TYPE "DisableMode" AS ENUM ('DURATION', 'QUOTA_RESET', 'MANUAL');

-- CreateEnum
CREATE TYPE "Actor" AS ENUM ('RULE', 'ADMIN', 'QUOTA', 'JOB', 'TIMER');

-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('RUNNING', 'SUCCEEDED', 'FAILED');

-- CreateTable
CREATE TABLE "Upstream" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "baseUrl" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "strategy" "KeyStrategy" NOT NULL DEFAULT 'ROUND_ROBIN',
    "authType" "AuthType" NOT NULL DEFAULT 'BEARER',
    "authName" TEXT,
    "headers" TEXT NOT NULL DEFAULT '{}',
    "connectTimeoutMs" INTEGER NOT NULL DEFAULT 10000,
    "timeoutMs" INTEGER NOT NULL DEFAULT 60000,
    "bodyTimeoutMs" INTEGER NOT NULL DEFAULT 120000,
    "deadlineMs" INTEGER NOT NULL DEFAULT 300000,
    "maxRetries" INTEGER NOT NULL DEFAULT 2,
    "retryBaseMs" INTEGER NOT NULL DEFAULT 100,
    "retryMaxMs" INTEGER NOT NULL DEFAULT 2000,
    "retryOnStatus" TEXT NOT NULL DEFAULT '[401,403,429,500,502,503,504]',
    "maxBufferedBodyBytes" INTEGER NOT NULL DEFAULT 10485760,
    "bodyLogging" "BodyLogging" NOT NULL DEFAULT 'ERRORS',
    "bodyLogMaxBytes" INTEGER NOT NULL DEFAULT 65536,
    "allowAnonymous" BOOLEAN NOT NULL DEFAULT false,
    "maxEjectionPercent" INTEGER NOT NULL DEFAULT 50,
    "modelPath" TEXT,
    "waitForKeyMs" INTEGER NOT NULL DEFAULT 0,
    "injectStreamUsage" BOOLEAN NOT NULL DEFAULT false,
    "probe" TEXT,
    "quotaResetCron" TEXT,
    "quotaResetTimezone" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Upstream_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL,
    "upstreamId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "secretCipher" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "status" "KeyStatus" NOT NULL DEFAULT 'ACTIVE',
    "statusReason" TEXT,
    "disabledUntil" TIMESTAMP(3),
    "weight" INTEGER NOT NULL DEFAULT 1,
    "quotaLimit" INTEGER,
    "quotaUsed" INTEGER NOT NULL DEFAULT 0,
    "quotaResetAt" TIMESTAMP(3),
    "requestCount" INTEGER NOT NULL DEFAULT 0,
    "failureCount" INTEGER NOT NULL DEFAULT 0,
    "promptTokens" BIGINT NOT NULL DEFAULT 0,
    "completionTokens" BIGINT NOT NULL DEFAULT 0,
    "lastUsedAt" TIMESTAMP(3),
    "lastError" TEXT,
    "disableCount" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "KeyModelCooldown" (
    "keyId" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "until" TIMESTAMP(3) NOT NULL,
    "reason" TEXT,

    CONSTRAINT "KeyModelCooldown_pkey" PRIMARY KEY ("keyId","model")
);

-- CreateTable
CREATE TABLE "Rule" (
    "id" TEXT NOT NULL,
    "upstreamId" TEXT,
    "name" TEXT NOT NULL,
    "condition" TEXT NOT NULL,
    "actions" TEXT NOT NULL,
    "threshold" INTEGER NOT NULL DEFAULT 1,
    "windowSeconds" INTEGER NOT NULL DEFAULT 60,
    "consecutive" BOOLEAN NOT NULL DEFAULT false,
    "cooldownSeconds" INTEGER NOT NULL DEFAULT 0,
    "disableMode" "DisableMode" NOT NULL DEFAULT 'DURATION',
    "disableForSeconds" INTEGER,
    "escalate" BOOLEAN NOT NULL DEFAULT false,
    "maxDisableSeconds" INTEGER NOT NULL DEFAULT 86400,
    "scope" "RuleScope" NOT NULL DEFAULT 'KEY',
    "priority" INTEGER NOT NULL DEFAULT 100,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Rule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RequestLog" (
    "id" SERIAL NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "requestId" TEXT NOT NULL,
    "upstreamId" TEXT,
    "keyId" TEXT,
    "accessTokenId" TEXT,
    "method" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "status" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "latencyMs" INTEGER NOT NULL,
    "overheadMs" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "bytesIn" INTEGER NOT NULL DEFAULT 0,
    "bytesOut" INTEGER NOT NULL DEFAULT 0,
    "clientIp" TEXT,
    "error" TEXT,
    "model" TEXT,
    "stream" BOOLEAN NOT NULL DEFAULT false,
    "promptTokens" INTEGER,
    "completionTokens" INTEGER,
    "totalTokens" INTEGER,
    "matchedRules" TEXT,
    "requestBody" TEXT,
    "responseBody" TEXT,
    "bodyTruncated" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "RequestLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "KeyEvent" (
    "id" SERIAL NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "keyId" TEXT,
    "keyName" TEXT NOT NULL,
    "upstreamId" TEXT,
    "fromStatus" "KeyStatus" NOT NULL,
    "toStatus" "KeyStatus" NOT NULL,
    "reason" TEXT,
    "actor" "Actor" NOT NULL,
    "ruleId" TEXT,
    "requestId" TEXT,
    "model" TEXT,
    "disabledUntil" TIMESTAMP(3),

    CONSTRAINT "KeyEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AccessToken" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "upstreamIds" TEXT NOT NULL DEFAULT '[]',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AccessToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "JobRun" (
    "id" SERIAL NOT NULL,
    "job" TEXT NOT NULL,
    "status" "JobStatus" NOT NULL,
    "trigger" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "finishedAt" TIMESTAMP(3),
    "counts" TEXT NOT NULL DEFAULT '{}',
    "error" TEXT,

    CONSTRAINT "JobRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Setting" (
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Setting_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE UNIQUE INDEX "Upstream_name_key" ON "Upstream"("name");

-- CreateIndex
CREATE INDEX "ApiKey_upstreamId_status_idx" ON "ApiKey"("upstreamId", "status");

-- CreateIndex
CREATE INDEX "ApiKey_upstreamId_name_idx" ON "ApiKey"("upstreamId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_upstreamId_secretHash_key" ON "ApiKey"("upstreamId", "secretHash");

-- CreateIndex
CREATE INDEX "Rule_upstreamId_idx" ON "Rule"("upstreamId");

-- CreateIndex
CREATE INDEX "RequestLog_createdAt_idx" ON "RequestLog"("createdAt");

-- CreateIndex
CREATE INDEX "RequestLog_upstreamId_id_idx" ON "RequestLog"("upstreamId", "id");

-- CreateIndex
CREATE INDEX "RequestLog_keyId_id_idx" ON "RequestLog"("keyId", "id");

-- CreateIndex
CREATE INDEX "RequestLog_accessTokenId_id_idx" ON "RequestLog"("accessTokenId", "id");

-- CreateIndex
CREATE INDEX "RequestLog_status_id_idx" ON "RequestLog"("status", "id");

-- CreateIndex
CREATE INDEX "RequestLog_requestId_idx" ON "RequestLog"("requestId");

-- CreateIndex
CREATE INDEX "KeyEvent_keyId_id_idx" ON "KeyEvent"("keyId", "id");

-- CreateIndex
CREATE INDEX "KeyEvent_upstreamId_id_idx" ON "KeyEvent"("upstreamId", "id");

-- CreateIndex
CREATE INDEX "KeyEvent_createdAt_idx" ON "KeyEvent"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "AccessToken_tokenHash_key" ON "AccessToken"("tokenHash");

-- CreateIndex
CREATE INDEX "JobRun_job_id_idx" ON "JobRun"("job", "id");

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_upstreamId_fkey" FOREIGN KEY ("upstreamId") REFERENCES "Upstream"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "KeyModelCooldown" ADD CONSTRAINT "KeyModelCooldown_keyId_fkey" FOREIGN KEY ("keyId") REFERENCES "ApiKey"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Rule" ADD CONSTRAINT "Rule_upstreamId_fkey" FOREIGN KEY ("upstreamId") REFERENCES "Upstream"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RequestLog" ADD CONSTRAINT "RequestLog_upstreamId_fkey" FOREIGN KEY ("upstreamId") REFERENCES "Upstream"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RequestLog" ADD CONSTRAINT "RequestLog_keyId_fkey" FOREIGN KEY ("keyId") REFERENCES "ApiKey"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RequestLog" ADD CONSTRAINT "RequestLog_accessTokenId_fkey" FOREIGN KEY ("accessTokenId") REFERENCES "AccessToken"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "KeyEvent" ADD CONSTRAINT "KeyEvent_keyId_fkey" FOREIGN KEY ("keyId") REFERENCES "ApiKey"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "KeyEvent" ADD CONSTRAINT "KeyEvent_upstreamId_fkey" FOREIGN KEY ("upstreamId") REFERENCES "Upstream"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "KeyEvent" ADD CONSTRAINT "KeyEvent_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "Rule"("id") ON DELETE SET NULL ON UPDATE CASCADE;
