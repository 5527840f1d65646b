/**
 * How the migration publishes on the source and subscribes on the
 * destination: one implementation per rights path (paths.ts), the two sides
 * chosen apart, per database.
 *
 * @module
 */
import type { Sql } from 'postgres';
import { extensionPublisher, extensionSubscriber } from './extension.js';
import { subscriptionRoleSubscriber } from './subscription-role.js';
import { superuserPublisher, superuserSubscriber } from './superuser.js';
import { tableOwnerPublisher } from './table-owner.js';
import type { ReplicationPaths, SourcePath, TargetPath } from './paths.js';
import type { Publisher, Subscriber } from './sides.js';

export type { Publisher, Subscriber, SubscriptionSpec } from './sides.js';

export interface ReplicationRights extends Publisher, Subscriber {
  readonly paths: ReplicationPaths;
}

const publishers: Record<SourcePath, Publisher> = {
  superuser: superuserPublisher,
  rds_superuser: superuserPublisher,
  extension: extensionPublisher,
  'table-owner': tableOwnerPublisher,
};

const subscribers: Record<TargetPath, Subscriber> = {
  superuser: superuserSubscriber,
  extension: extensionSubscriber,
  pg_create_subscription: subscriptionRoleSubscriber,
};

export function rightsFor(paths: ReplicationPaths): ReplicationRights {
  const publisher = publishers[paths.source];
  const subscriber = subscribers[paths.target];
  return {
    paths,
    createPublication: (source, name, filter) => publisher.createPublication(source, name, filter),
    dropPublication: (source, name) => publisher.dropPublication(source, name),
    dropSlot: (source, name) => publisher.dropSlot(source, name),
    createSubscription: (target, spec) => subscriber.createSubscription(target, spec),
    dropSubscription: (target, name) => subscriber.dropSubscription(target, name),
  };
}
