import type { AdminServices } from '../admin/services.ts';
import { ConflictError } from '../errors.ts';
import type { JobService } from './job-service.ts';

// The GraphQL context carries AdminServices; the job service is attached to
// that very object (per gateway, not a module singleton) so the job resolvers
// reach it without the admin services depending on the jobs module.
const attached = new WeakMap<object, JobService>();

export function attachJobService(services: AdminServices, jobs: JobService): void {
  attached.set(services, jobs);
}

export function jobServiceOf(services: AdminServices): JobService {
  const jobs = attached.get(services);
  if (!jobs) throw new ConflictError('jobs are not available on this gateway');
  return jobs;
}
