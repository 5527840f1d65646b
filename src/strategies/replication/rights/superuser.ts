/** Plain DDL, for a superuser (or RDS's `rds_superuser` on the source). */
import { quoteIdent, quoteLiteral } from '../../../pg/identifiers.js';
import { createSubscriptionStatement, type Publisher, type Subscriber } from './sides.js';
import { publishableTables } from './publishable-tables.js';
import { runUnrecorded } from './unrecorded.js';

export const superuserPublisher: Publisher = {
  async createPublication(source, name, filter) {
    if (!filter) {
      await source.unsafe(`create publication ${quoteIdent(name)} for all tables`);
      return;
    }
    // Only the selected tables: a subscription to one the destination lacks could not even be created.
    const tables = await publishableTables(source, filter);
    await source.unsafe(`create publication ${quoteIdent(name)}${tables.length > 0 ? ` for table ${tables.join(', ')}` : ''}`);
  },
  async dropPublication(source, name) {
    await source.unsafe(`drop publication if exists ${quoteIdent(name)}`);
  },
  async dropSlot(source, name) {
    await source`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = ${name}`;
  },
};

export const superuserSubscriber: Subscriber = {
  async createSubscription(target, spec) {
    // The statement carries the source password: no log line, statistics entry or activity row may keep its text.
    await runUnrecorded(target, (session) => session.unsafe(createSubscriptionStatement(spec, { ident: quoteIdent, literal: quoteLiteral })), spec.commitIf);
  },
  async dropSubscription(target, name) {
    await dropOwnSubscription(target, name);
  },
};

/** Disable, detach from the slot, drop: what the subscription's owner may do without the source. */
export async function dropOwnSubscription(target: import('postgres').Sql, name: string): Promise<void> {
  const sub = quoteIdent(name);
  await target.unsafe(`alter subscription ${sub} disable`);
  await target.unsafe(`alter subscription ${sub} set (slot_name = none)`);
  await target.unsafe(`drop subscription ${sub}`);
}
