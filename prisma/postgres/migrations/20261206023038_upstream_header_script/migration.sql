-- AlterTable
ALTER TABLE "Upstream" ADD COLUMN     "headerScript" TEXT,
ADD COLUMN     "scriptCanReadKey" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "scriptSecrets" TEXT;
