import type { AdminServices } from '../admin/services.ts';
import { ConflictError } from '../errors.ts';
import type { Notifications } from './service.ts';

// The gateway attaches the notifications to the admin services after building
// both, so GraphQL resolvers reach them without the admin services depending on this module.
const attached = new WeakMap<object, Notifications>();

export function attachNotifications(services: AdminServices, notifications: Notifications): void {
  attached.set(services, notifications);
}

export function notificationsOf(services: AdminServices): Notifications {
  const notifications = attached.get(services);
  if (!notifications) throw new ConflictError('notifications are not available on this gateway');
  return notifications;
}
