/** What each side of a replication needs done, whatever right does it. */
import type { Sql } from 'postgres';
import type { TableFilter } from '../../../selection/table-filter.js';

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
  /**
   * The subscription is made in a transaction that commits once this
   * settles true and rolls back when it settles false: until then it does
   * not exist, and no worker applies anything. Only with `existingSlot`:
   * creating a slot cannot be rolled back, and PostgreSQL refuses it inside
   * a transaction.
   */
  readonly commitIf?: Promise<boolean>;
}

/** The source side: the publication and the slots. */
export interface Publisher {
  /** A publication of every table `filter` keeps (all of them when `null`). */
  createPublication(source: Sql, name: string, filter: TableFilter | null): Promise<void>;
  dropPublication(source: Sql, name: string): Promise<void>;
  dropSlot(source: Sql, name: string): Promise<void>;
}

/** The destination side: the subscription. */
export interface Subscriber {
  createSubscription(target: Sql, spec: SubscriptionSpec): Promise<void>;
  /** Detaches the subscription from its slot, then drops it: works with the source unreachable. */
  dropSubscription(target: Sql, name: string): Promise<void>;
}

/** `CREATE SUBSCRIPTION` for the spec; the caller runs it with the rights it has. */
export function createSubscriptionStatement(spec: SubscriptionSpec, quote: { ident: (s: string) => string; literal: (s: string) => string }): string {
  if (spec.commitIf && !spec.existingSlot) throw new Error(`${spec.name}: a subscription that creates its slot cannot wait in a transaction`);
  return (
    `create subscription ${quote.ident(spec.name)} connection ${quote.literal(spec.conninfo)} ` +
    `publication ${quote.ident(spec.publication)} ` +
    `with (slot_name = ${quote.literal(spec.slot)}, ${spec.existingSlot ? 'create_slot = false, copy_data = false' : 'create_slot = true, copy_data = true'}, enabled = true)`
  );
}
