/**
 * Triggers that fire for a replica's writes, kept quiet on a destination
 * while it follows its source.
 *
 * A subscription's apply worker writes with `session_replication_role =
 * replica`, and a trigger set `ENABLE ALWAYS` or `ENABLE REPLICA` fires for
 * those writes. On the source the trigger already fired for the original
 * write, and whatever it wrote there reaches the destination by replication
 * on its own: fired again by the apply worker, it writes everything twice (or
 * fails the apply, when it expects a search_path the worker does not have).
 *
 * So before the subscription starts, each such trigger is set to fire for the
 * destination's own writes only: `ALWAYS` becomes `ENABLE` (fires for local
 * writes, as `ALWAYS` does), `REPLICA` becomes `DISABLE` (which never fires
 * for local writes either). Once the subscription is gone, each trigger gets
 * the state the source's trigger of that name has then, so the destination
 * behaves as the source does; nothing needs remembering in between, and a
 * stop from another process restores them alike.
 *
 * @module
 */
import type { Sql } from 'postgres';
import { qualified, quoteIdent } from '../../pg/identifiers.js';

interface TriggerState {
  readonly schema: string;
  readonly table: string;
  readonly trigger: string;
  /** `pg_trigger.tgenabled`: `O` origin (enabled), `D` disabled, `R` replica, `A` always. */
  readonly state: string;
}

/**
 * User triggers of the database, parents before partitions: a trigger set on
 * a partitioned table is set on its partitions' clones too, and a clone that
 * differs from its parent is then set on its own.
 */
const TRIGGERS = `
  select n.nspname as schema, c.relname as "table", t.tgname as trigger, t.tgenabled::text as state
  from pg_trigger t
    join pg_class c on c.oid = t.tgrelid
    join pg_namespace n on n.oid = c.relnamespace
  where not t.tgisinternal and n.nspname not in ('pg_catalog', 'information_schema')
  order by c.relispartition, n.nspname, c.relname, t.tgname`;

const SET_STATE: Record<string, string> = { O: 'enable trigger', D: 'disable trigger', R: 'enable replica trigger', A: 'enable always trigger' };

function setState(trigger: Omit<TriggerState, 'state'>, state: string): string {
  return `alter table ${qualified(trigger.schema, trigger.table)} ${SET_STATE[state] as string} ${quoteIdent(trigger.trigger)}`;
}

/** Sets the destination's replica-firing triggers to fire for its own writes only; returns how many. */
export async function quietReplicaTriggers(target: Sql): Promise<number> {
  const triggers = await target.unsafe<TriggerState[]>(TRIGGERS);
  const loud = triggers.filter((t) => t.state === 'A' || t.state === 'R');
  if (loud.length === 0) return 0;
  await target.unsafe(loud.map((t) => `${setState(t, t.state === 'A' ? 'O' : 'D')};`).join('\n')).simple();
  return loud.length;
}

/**
 * Gives every destination trigger quieted by {@link quietReplicaTriggers} the
 * state its source trigger has; run only once no subscription writes to the
 * destination. Returns how many changed.
 */
export async function restoreReplicaTriggers(source: Sql, target: Sql): Promise<number> {
  const [wanted, present] = await Promise.all([source.unsafe<TriggerState[]>(TRIGGERS), target.unsafe<TriggerState[]>(TRIGGERS)]);
  const key = (t: Omit<TriggerState, 'state'>): string => JSON.stringify([t.schema, t.table, t.trigger]);
  const now = new Map(present.map((t) => [key(t), t.state]));
  const changes = wanted.filter((t) => (t.state === 'A' || t.state === 'R') && now.has(key(t)) && now.get(key(t)) !== t.state);
  if (changes.length === 0) return 0;
  await target.unsafe(changes.map((t) => `${setState(t, t.state)};`).join('\n')).simple();
  return changes.length;
}
