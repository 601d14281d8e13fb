-- AlterTable
ALTER TABLE "Upstream" ADD COLUMN "nameKey" TEXT;

-- Backfill: the lower-case name, except for a later case duplicate of an earlier upstream (left null so the index holds, and renaming it sets the key)
UPDATE "Upstream" SET "nameKey" = lower("name")
WHERE NOT EXISTS (SELECT 1 FROM "Upstream" AS "earlier" WHERE lower("earlier"."name") = lower("Upstream"."name") AND "earlier"."id" < "Upstream"."id");

-- CreateIndex
CREATE UNIQUE INDEX "Upstream_nameKey_key" ON "Upstream"("nameKey");
