-- CreateTable
CREATE TABLE "InstanceLease" (
    "id" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "heartbeatMs" BIGINT NOT NULL,
    "beat" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "InstanceLease_pkey" PRIMARY KEY ("id")
);
