/**
 * A schema-only dump recreates materialized views empty: the data section,
 * which would refresh them, is not restored. Each one populated on the source
 * is refreshed on the destination once its tables hold their rows.
 */
import type { Sql } from 'postgres';
import { qualified } from '../pg/identifiers.js';
import { populatedMaterializedViews } from '../pg/queries/materialized-views.js';

export async function refreshMaterializedViews(source: Sql, target: Sql): Promise<number> {
  const views = await populatedMaterializedViews(source);
  for (const view of views) await target.unsafe(`refresh materialized view ${qualified(view.schema, view.name)}`);
  return views.length;
}
