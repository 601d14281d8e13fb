-- Header scripts (plain ADD COLUMN: nullable, or NOT NULL with a constant default, which SQLite allows).
ALTER TABLE "Upstream" ADD COLUMN "headerScript" TEXT;
ALTER TABLE "Upstream" ADD COLUMN "scriptSecrets" TEXT;
ALTER TABLE "Upstream" ADD COLUMN "scriptCanReadKey" BOOLEAN NOT NULL DEFAULT false;
