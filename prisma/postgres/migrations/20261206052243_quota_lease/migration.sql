-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "quotaLeased" INTEGER DEFAULT 0;

-- CreateTable
CREATE TABLE "QuotaLease" (
    "keyId" TEXT NOT NULL,
    "instanceId" TEXT NOT NULL,
    "units" INTEGER NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "QuotaLease_pkey" PRIMARY KEY ("keyId","instanceId")
);

-- CreateIndex
CREATE INDEX "QuotaLease_expiresAt_idx" ON "QuotaLease"("expiresAt");

-- CreateIndex
CREATE INDEX "QuotaLease_instanceId_idx" ON "QuotaLease"("instanceId");
