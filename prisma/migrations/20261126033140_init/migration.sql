-- CreateTable
CREATE TABLE "Upstream" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "baseUrl" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "strategy" TEXT NOT NULL DEFAULT 'ROUND_ROBIN',
    "authType" TEXT NOT NULL DEFAULT 'BEARER',
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
    "bodyLogging" TEXT NOT NULL DEFAULT 'ERRORS',
    "bodyLogMaxBytes" INTEGER NOT NULL DEFAULT 65536,
    "allowAnonymous" BOOLEAN NOT NULL DEFAULT false,
    "maxEjectionPercent" INTEGER NOT NULL DEFAULT 50,
    "modelPath" TEXT,
    "waitForKeyMs" INTEGER NOT NULL DEFAULT 0,
    "injectStreamUsage" BOOLEAN NOT NULL DEFAULT false,
    "probe" TEXT,
    "quotaResetCron" TEXT,
    "quotaResetTimezone" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "upstreamId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "secretCipher" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'ACTIVE',
    "statusReason" TEXT,
    "disabledUntil" DATETIME,
    "weight" INTEGER NOT NULL DEFAULT 1,
    "quotaLimit" INTEGER,
    "quotaUsed" INTEGER NOT NULL DEFAULT 0,
    "quotaResetAt" DATETIME,
    "requestCount" INTEGER NOT NULL DEFAULT 0,
    "failureCount" INTEGER NOT NULL DEFAULT 0,
    "promptTokens" BIGINT NOT NULL DEFAULT 0,
    "completionTokens" BIGINT NOT NULL DEFAULT 0,
    "lastUsedAt" DATETIME,
    "lastError" TEXT,
    "disableCount" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "ApiKey_upstreamId_fkey" FOREIGN KEY ("upstreamId") REFERENCES "Upstream" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "KeyModelCooldown" (
    "keyId" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "until" DATETIME NOT NULL,
    "reason" TEXT,

    PRIMARY KEY ("keyId", "model"),
    CONSTRAINT "KeyModelCooldown_keyId_fkey" FOREIGN KEY ("keyId") REFERENCES "ApiKey" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Rule" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "upstreamId" TEXT,
    "name" TEXT NOT NULL,
    "condition" TEXT NOT NULL,
    "actions" TEXT NOT NULL,
    "threshold" INTEGER NOT NULL DEFAULT 1,
    "windowSeconds" INTEGER NOT NULL DEFAULT 60,
    "consecutive" BOOLEAN NOT NULL DEFAULT false,
    "cooldownSeconds" INTEGER NOT NULL DEFAULT 0,
    "disableMode" TEXT NOT NULL DEFAULT 'DURATION',
    "disableForSeconds" INTEGER,
    "escalate" BOOLEAN NOT NULL DEFAULT false,
    "maxDisableSeconds" INTEGER NOT NULL DEFAULT 86400,
    "scope" TEXT NOT NULL DEFAULT 'KEY',
    "priority" INTEGER NOT NULL DEFAULT 100,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Rule_upstreamId_fkey" FOREIGN KEY ("upstreamId") REFERENCES "Upstream" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "RequestLog" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "createdAt" DATETIME NOT NULL,
    "requestId" TEXT NOT NULL,
    "upstreamId" TEXT,
    "keyId" TEXT,
    "accessTokenId" TEXT,
    "method" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "status" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "latencyMs" INTEGER NOT NULL,
    "overheadMs" REAL NOT NULL DEFAULT 0,
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
    CONSTRAINT "RequestLog_upstreamId_fkey" FOREIGN KEY ("upstreamId") REFERENCES "Upstream" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "RequestLog_keyId_fkey" FOREIGN KEY ("keyId") REFERENCES "ApiKey" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "RequestLog_accessTokenId_fkey" FOREIGN KEY ("accessTokenId") REFERENCES "AccessToken" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "KeyEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "createdAt" DATETIME NOT NULL,
    "keyId" TEXT,
    "keyName" TEXT NOT NULL,
    "upstreamId" TEXT,
    "fromStatus" TEXT NOT NULL,
    "toStatus" TEXT NOT NULL,
    "reason" TEXT,
    "actor" TEXT NOT NULL,
    "ruleId" TEXT,
    "requestId" TEXT,
    "model" TEXT,
    "disabledUntil" DATETIME,
    CONSTRAINT "KeyEvent_keyId_fkey" FOREIGN KEY ("keyId") REFERENCES "ApiKey" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "KeyEvent_upstreamId_fkey" FOREIGN KEY ("upstreamId") REFERENCES "Upstream" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "KeyEvent_ruleId_fkey" FOREIGN KEY ("ruleId") REFERENCES "Rule" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "AccessToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "upstreamIds" TEXT NOT NULL DEFAULT '[]',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "lastUsedAt" DATETIME,
    "revokedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "JobRun" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "job" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "startedAt" DATETIME NOT NULL,
    "finishedAt" DATETIME,
    "counts" TEXT NOT NULL DEFAULT '{}',
    "error" TEXT
);

-- CreateTable
CREATE TABLE "Setting" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
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
