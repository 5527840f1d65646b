import type { Sql } from 'postgres';
import { qualified } from '../identifiers.js';

/** A sequence's position: what `setval(seq, value, called)` restores. */
export interface SequenceValue {
  readonly schema: string;
  readonly name: string;
  readonly lastValue: string;
  readonly isCalled: boolean;
}

/**
 * Every user sequence's position. Of an extension's sequences, only those
 * registered as its configuration (`pg_extension_config_dump`), whose
 * position pg_dump sets too: they number the rows of its configuration
 * tables, which the copy carries.
 */
export async function readSequences(sql: Sql): Promise<SequenceValue[]> {
  const rows = await sql<{ schema: string; name: string }[]>`
    select n.nspname as schema, c.relname as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'S' and n.nspname not in ('pg_catalog', 'information_schema')
      and (exists (select 1 from pg_extension e where c.oid = any (e.extconfig))
           or not exists (select 1 from pg_depend d
                          where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'))
    order by 1, 2`;
  const values: SequenceValue[] = [];
  for (const { schema, name } of rows) {
    // last_value and is_called live in the sequence relation itself.
    const [row] = await sql<{ last_value: string; is_called: boolean }[]>`
      select last_value::text, is_called from ${sql(schema)}.${sql(name)}`;
    if (row) values.push({ schema, name, lastValue: row.last_value, isCalled: row.is_called });
  }
  return values;
}

export async function writeSequence(sql: Sql, value: SequenceValue): Promise<void> {
  const regclass = qualified(value.schema, value.name);
  await sql`select pg_catalog.setval(${regclass}::regclass, ${value.lastValue}::bigint, ${value.isCalled})`;
}
