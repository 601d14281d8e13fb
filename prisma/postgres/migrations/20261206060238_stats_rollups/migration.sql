-- CreateTable
CREATE TABLE "RequestLogMinute" (
    "id" SERIAL NOT NULL,
    "minute" TIMESTAMP(3) NOT NULL,
    "upstreamId" TEXT,
    "requests" INTEGER NOT NULL DEFAULT 0,
    "errors" INTEGER NOT NULL DEFAULT 0,
    "latencyMs" BIGINT NOT NULL DEFAULT 0,
    "latencyMax" INTEGER NOT NULL DEFAULT 0,
    "bytesIn" BIGINT NOT NULL DEFAULT 0,
    "bytesOut" BIGINT NOT NULL DEFAULT 0,
    "promptTokens" BIGINT NOT NULL DEFAULT 0,
    "completionTokens" BIGINT NOT NULL DEFAULT 0,
    "le0" INTEGER NOT NULL DEFAULT 0,
    "le1" INTEGER NOT NULL DEFAULT 0,
    "le2" INTEGER NOT NULL DEFAULT 0,
    "le3" INTEGER NOT NULL DEFAULT 0,
    "le4" INTEGER NOT NULL DEFAULT 0,
    "le5" INTEGER NOT NULL DEFAULT 0,
    "le6" INTEGER NOT NULL DEFAULT 0,
    "le8" INTEGER NOT NULL DEFAULT 0,
    "le10" INTEGER NOT NULL DEFAULT 0,
    "le12" INTEGER NOT NULL DEFAULT 0,
    "le15" INTEGER NOT NULL DEFAULT 0,
    "le20" INTEGER NOT NULL DEFAULT 0,
    "le25" INTEGER NOT NULL DEFAULT 0,
    "le30" INTEGER NOT NULL DEFAULT 0,
    "le40" INTEGER NOT NULL DEFAULT 0,
    "le50" INTEGER NOT NULL DEFAULT 0,
    "le60" INTEGER NOT NULL DEFAULT 0,
    "le80" INTEGER NOT NULL DEFAULT 0,
    "le100" INTEGER NOT NULL DEFAULT 0,
    "le120" INTEGER NOT NULL DEFAULT 0,
    "le150" INTEGER NOT NULL DEFAULT 0,
    "le200" INTEGER NOT NULL DEFAULT 0,
    "le250" INTEGER NOT NULL DEFAULT 0,
    "le300" INTEGER NOT NULL DEFAULT 0,
    "le400" INTEGER NOT NULL DEFAULT 0,
    "le500" INTEGER NOT NULL DEFAULT 0,
    "le600" INTEGER NOT NULL DEFAULT 0,
    "le800" INTEGER NOT NULL DEFAULT 0,
    "le1000" INTEGER NOT NULL DEFAULT 0,
    "le1200" INTEGER NOT NULL DEFAULT 0,
    "le1500" INTEGER NOT NULL DEFAULT 0,
    "le2000" INTEGER NOT NULL DEFAULT 0,
    "le2500" INTEGER NOT NULL DEFAULT 0,
    "le3000" INTEGER NOT NULL DEFAULT 0,
    "le4000" INTEGER NOT NULL DEFAULT 0,
    "le5000" INTEGER NOT NULL DEFAULT 0,
    "le6000" INTEGER NOT NULL DEFAULT 0,
    "le8000" INTEGER NOT NULL DEFAULT 0,
    "le10000" INTEGER NOT NULL DEFAULT 0,
    "le12000" INTEGER NOT NULL DEFAULT 0,
    "le15000" INTEGER NOT NULL DEFAULT 0,
    "le20000" INTEGER NOT NULL DEFAULT 0,
    "le25000" INTEGER NOT NULL DEFAULT 0,
    "le30000" INTEGER NOT NULL DEFAULT 0,
    "le40000" INTEGER NOT NULL DEFAULT 0,
    "le50000" INTEGER NOT NULL DEFAULT 0,
    "le60000" INTEGER NOT NULL DEFAULT 0,
    "le80000" INTEGER NOT NULL DEFAULT 0,
    "le100000" INTEGER NOT NULL DEFAULT 0,
    "le120000" INTEGER NOT NULL DEFAULT 0,
    "leInf" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "RequestLogMinute_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RequestLogKeyMinute" (
    "id" SERIAL NOT NULL,
    "minute" TIMESTAMP(3) NOT NULL,
    "upstreamId" TEXT,
    "keyId" TEXT,
    "requests" INTEGER NOT NULL DEFAULT 0,
    "errors" INTEGER NOT NULL DEFAULT 0,
    "latencyMs" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "RequestLogKeyMinute_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RequestLogMinute_minute_upstreamId_idx" ON "RequestLogMinute"("minute", "upstreamId");

-- CreateIndex
CREATE INDEX "RequestLogKeyMinute_minute_upstreamId_keyId_idx" ON "RequestLogKeyMinute"("minute", "upstreamId", "keyId");

-- AddForeignKey
ALTER TABLE "RequestLogMinute" ADD CONSTRAINT "RequestLogMinute_upstreamId_fkey" FOREIGN KEY ("upstreamId") REFERENCES "Upstream"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RequestLogKeyMinute" ADD CONSTRAINT "RequestLogKeyMinute_upstreamId_fkey" FOREIGN KEY ("upstreamId") REFERENCES "Upstream"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RequestLogKeyMinute" ADD CONSTRAINT "RequestLogKeyMinute_keyId_fkey" FOREIGN KEY ("keyId") REFERENCES "ApiKey"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Backfill: the rows stored before this migration, so stats read from the rollups stay right (src/logs/log-rollup-backfill.ts)
INSERT INTO "RequestLogMinute" ("minute", "upstreamId", "requests", "errors", "latencyMs", "latencyMax", "bytesIn", "bytesOut", "promptTokens", "completionTokens", "le0", "le1", "le2", "le3", "le4", "le5", "le6", "le8", "le10", "le12", "le15", "le20", "le25", "le30", "le40", "le50", "le60", "le80", "le100", "le120", "le150", "le200", "le250", "le300", "le400", "le500", "le600", "le800", "le1000", "le1200", "le1500", "le2000", "le2500", "le3000", "le4000", "le5000", "le6000", "le8000", "le10000", "le12000", "le15000", "le20000", "le25000", "le30000", "le40000", "le50000", "le60000", "le80000", "le100000", "le120000", "leInf")
SELECT date_trunc('minute', "createdAt"),
  "upstreamId",
  COUNT(*),
  SUM(CASE WHEN "status" >= 400 OR "error" IS NOT NULL THEN 1 ELSE 0 END),
  SUM("latencyMs"),
  MAX("latencyMs"),
  SUM("bytesIn"),
  SUM("bytesOut"),
  COALESCE(SUM("promptTokens"), 0),
  COALESCE(SUM("completionTokens"), 0),
  SUM(CASE WHEN "latencyMs" <= 0 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 0 AND "latencyMs" <= 1 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 1 AND "latencyMs" <= 2 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 2 AND "latencyMs" <= 3 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 3 AND "latencyMs" <= 4 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 4 AND "latencyMs" <= 5 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 5 AND "latencyMs" <= 6 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 6 AND "latencyMs" <= 8 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 8 AND "latencyMs" <= 10 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 10 AND "latencyMs" <= 12 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 12 AND "latencyMs" <= 15 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 15 AND "latencyMs" <= 20 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 20 AND "latencyMs" <= 25 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 25 AND "latencyMs" <= 30 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 30 AND "latencyMs" <= 40 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 40 AND "latencyMs" <= 50 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 50 AND "latencyMs" <= 60 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 60 AND "latencyMs" <= 80 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 80 AND "latencyMs" <= 100 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 100 AND "latencyMs" <= 120 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 120 AND "latencyMs" <= 150 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 150 AND "latencyMs" <= 200 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 200 AND "latencyMs" <= 250 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 250 AND "latencyMs" <= 300 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 300 AND "latencyMs" <= 400 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 400 AND "latencyMs" <= 500 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 500 AND "latencyMs" <= 600 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 600 AND "latencyMs" <= 800 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 800 AND "latencyMs" <= 1000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 1000 AND "latencyMs" <= 1200 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 1200 AND "latencyMs" <= 1500 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 1500 AND "latencyMs" <= 2000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 2000 AND "latencyMs" <= 2500 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 2500 AND "latencyMs" <= 3000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 3000 AND "latencyMs" <= 4000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 4000 AND "latencyMs" <= 5000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 5000 AND "latencyMs" <= 6000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 6000 AND "latencyMs" <= 8000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 8000 AND "latencyMs" <= 10000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 10000 AND "latencyMs" <= 12000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 12000 AND "latencyMs" <= 15000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 15000 AND "latencyMs" <= 20000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 20000 AND "latencyMs" <= 25000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 25000 AND "latencyMs" <= 30000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 30000 AND "latencyMs" <= 40000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 40000 AND "latencyMs" <= 50000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 50000 AND "latencyMs" <= 60000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 60000 AND "latencyMs" <= 80000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 80000 AND "latencyMs" <= 100000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 100000 AND "latencyMs" <= 120000 THEN 1 ELSE 0 END),
  SUM(CASE WHEN "latencyMs" > 120000 THEN 1 ELSE 0 END)
FROM "RequestLog"
GROUP BY 1, 2;

INSERT INTO "RequestLogKeyMinute" ("minute", "upstreamId", "keyId", "requests", "errors", "latencyMs")
SELECT date_trunc('minute', "createdAt"), "upstreamId", "keyId", COUNT(*), SUM(CASE WHEN "status" >= 400 OR "error" IS NOT NULL THEN 1 ELSE 0 END), SUM("latencyMs")
FROM "RequestLog" WHERE "keyId" IS NOT NULL
GROUP BY 1, 2, 3;
