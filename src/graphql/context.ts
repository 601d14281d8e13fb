import type { AdminServices } from '../admin/services.ts';
import type { JobService } from '../jobs/job-service.ts';
import type { Notifications } from '../notifications/service.ts';
import type { PublishedRelations } from './published-relations.ts';

/** Per-operation context. Resolvers reach data only through the services. */
export interface GraphQLContext {
  services: AdminServices;
  /** Relations of rows published to subscriptions, batched and shared by every subscriber (one per server). */
  relations: PublishedRelations;
  /** The scheduled jobs; null where a server is built without them (tests of the schema alone). */
  jobs: JobService | null;
  /** Notification channels and deliveries; null where a server is built without them. */
  notifications: Notifications | null;
}
