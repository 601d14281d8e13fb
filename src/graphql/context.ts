import type { AdminServices } from '../admin/services.ts';

/** Per-operation context. Resolvers reach data only through the services. */
export interface GraphQLContext {
  services: AdminServices;
}
