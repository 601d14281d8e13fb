-- CreateTable
CREATE TABLE "RateLimit" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "scope" TEXT NOT NULL,
    "targetId" TEXT NOT NULL,
    "requests" INTEGER,
    "perSeconds" INTEGER,
    "concurrent" INTEGER,
    "tokensPerMinute" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- AlterTable
ALTER TABLE "Upstream" ADD COLUMN "respectProviderLimits" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "RateLimit_scope_targetId_idx" ON "RateLimit"("scope", "targetId");
