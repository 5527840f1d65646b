/**
 * How the migration gets the right to publish on the source and subscribe on
 * the destination. Today that is a superuser (or `rds_superuser`) on both
 * sides; the non-superuser paths (the `datalakehouse_extras` extension,
 * PostgreSQL 16's `pg_create_subscription`) are further implementations of
 * this one interface, chosen per database.
 *
 * @module
 */
import type { Sql } from 'postgres';
import { quoteIdent, quoteLiteral } from '../../pg/identifiers.js';

export interface SubscriptionSpec {
  readonly name: string;
  /** libpq connection string to the source database; holds the password. */
  readonly conninfo: string;
  readonly publication: string;
  readonly slot: string;
  /**
   * The slot exists already, and the rows up to its start were copied from
   * its snapshot: the subscription creates no slot and copies nothing.
   */
  readonly existingSlot?: boolean;
}

export interface ReplicationRights {
  /** Names the path in messages, e.g. `superuser`. */
  readonly name: string;
  createPublication(source: Sql, name: string): Promise<void>;
  createSubscription(target: Sql, spec: SubscriptionSpec): Promise<void>;
  /** Detaches the subscription from its slot, then drops it: works with the source unreachable. */
  dropSubscription(target: Sql, name: string): Promise<void>;
  dropPublication(source: Sql, name: string): Promise<void>;
  dropSlot(source: Sql, name: string): Promise<void>;
}

/** Plain DDL, for a role that is superuser (or `rds_superuser`) on both sides. */
export const superuserRights: ReplicationRights = {
  name: 'superuser',

  async createPublication(source, name) {
    await source.unsafe(`create publication ${quoteIdent(name)} for all tables`);
  },

  async createSubscription(target, spec) {
    const session = await target.reserve();
    try {
      // The statement carries the source password: a failure must not print it to the server log.
      await session`set log_min_error_statement = panic`;
      await session`set log_statement = 'none'`;
      await session.unsafe(
        `create subscription ${quoteIdent(spec.name)} connection ${quoteLiteral(spec.conninfo)} ` +
          `publication ${quoteIdent(spec.publication)} ` +
          `with (slot_name = ${quoteLiteral(spec.slot)}, ${spec.existingSlot ? 'create_slot = false, copy_data = false' : 'create_slot = true, copy_data = true'}, enabled = true)`,
      );
    } finally {
      await session`reset log_min_error_statement`.catch(() => undefined);
      await session`reset log_statement`.catch(() => undefined);
      session.release();
    }
  },

  async dropSubscription(target, name) {
    const sub = quoteIdent(name);
    await target.unsafe(`alter subscription ${sub} disable`);
    await target.unsafe(`alter subscription ${sub} set (slot_name = none)`);
    await target.unsafe(`drop subscription ${sub}`);
  },

  async dropPublication(source, name) {
    await source.unsafe(`drop publication if exists ${quoteIdent(name)}`);
  },

  async dropSlot(source, name) {
    await source`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = ${name}`;
  },
};
