-- AlterTable
ALTER TABLE "Upstream" ADD COLUMN     "respectProviderLimits" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "RateLimit" (
    "id" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "targetId" TEXT NOT NULL,
    "requests" INTEGER,
    "perSeconds" INTEGER,
    "concurrent" INTEGER,
    "tokensPerMinute" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "RateLimit_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RateLimit_scope_targetId_idx" ON "RateLimit"("scope", "targetId");
