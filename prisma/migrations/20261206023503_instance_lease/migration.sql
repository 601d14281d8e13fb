-- CreateTable
CREATE TABLE "InstanceLease" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "holder" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "heartbeatMs" BIGINT NOT NULL,
    "beat" INTEGER NOT NULL DEFAULT 0
);
