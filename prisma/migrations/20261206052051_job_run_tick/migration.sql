-- AlterTable
ALTER TABLE "JobRun" ADD COLUMN "scheduledFor" DATETIME;

-- CreateIndex
CREATE UNIQUE INDEX "JobRun_job_scheduledFor_key" ON "JobRun"("job", "scheduledFor");
