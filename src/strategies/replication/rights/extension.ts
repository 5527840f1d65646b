/**
 * Through the `datalakehouse_extras` extension (extension/ in this
 * package): its SECURITY DEFINER functions let a database's owner publish
 * and subscribe in that database without superuser. The slot is still
 * created and dropped by the role itself, which needs REPLICATION for it.
 */
import type { Publisher, Subscriber } from './sides.js';
import { superuserPublisher } from './superuser.js';
import { publishableTables } from './publishable-tables.js';
import { runUnrecorded } from './unrecorded.js';

export const extensionPublisher: Publisher = {
  async createPublication(source, name, filter) {
    if (!filter) {
      await source`select datalakehouse_extras.create_publication(${name}, null)`;
      return;
    }
    const tables = await publishableTables(source, filter);
    await source`select datalakehouse_extras.create_publication(${name}, ${source.array(tables)}::text[])`;
  },
  async dropPublication(source, name) {
    const [row] = await source<{ managed: boolean }[]>`
      select exists (select 1 from pg_publication where pubname = ${name}) as managed`;
    if (row?.managed) await source`select datalakehouse_extras.drop_publication(${name})`;
  },
  dropSlot: superuserPublisher.dropSlot,
};

export const extensionSubscriber: Subscriber = {
  async createSubscription(target, spec) {
    if (!spec.existingSlot) {
      // CREATE SUBSCRIPTION may create a slot only outside a transaction, which a function never is.
      throw new Error(`${spec.name}: the extension subscribes only on a slot the migration created`);
    }
    // The connection string is a bound parameter: logged with the statement unless those records are off.
    await runUnrecorded(
      target,
      (session) => session`select datalakehouse_extras.create_subscription(${spec.name}, ${spec.conninfo}, ${spec.publication}, ${spec.slot}, false, true)`,
      spec.commitIf,
    );
  },
  async dropSubscription(target, name) {
    await target`select datalakehouse_extras.drop_subscription(${name})`;
  },
};
