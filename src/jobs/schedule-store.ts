import type { PrismaClient } from '../db/client.ts';

// Schedules set through the API live in Setting rows and win over the environment.
const PREFIX = 'job.schedule.';

export async function loadScheduleOverrides(prisma: PrismaClient): Promise<Map<string, string>> {
  const rows = await prisma.setting.findMany({ where: { key: { startsWith: PREFIX } } });
  return new Map(rows.map((r) => [r.key.slice(PREFIX.length), r.value]));
}

/** null removes the override: the job returns to its environment schedule. */
export async function saveScheduleOverride(prisma: PrismaClient, job: string, schedule: string | null): Promise<void> {
  const key = PREFIX + job;
  if (schedule === null) await prisma.setting.deleteMany({ where: { key } });
  else await prisma.setting.upsert({ where: { key }, create: { key, value: schedule }, update: { value: schedule } });
}
