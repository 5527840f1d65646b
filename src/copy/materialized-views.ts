/**
 * A schema-only dump recreates materialized views empty: the data section,
 * which would refresh them, is not restored. Each one populated on the source
 * is refreshed on the destination once its tables hold their rows, after
 * every materialized view it reads (a refresh reads the others as they are,
 * and fails on one never populated). One never populated on the source stays
 * so; one the destination lacks (its schema left out) is not asked for.
 */
import type { Sql } from 'postgres';
import { qualified } from '../pg/identifiers.js';
import { materializedViewDependencies, populatedMaterializedViews } from '../pg/queries/materialized-views.js';

export async function refreshMaterializedViews(source: Sql, target: Sql): Promise<number> {
  const [populated, onTarget] = await Promise.all([populatedMaterializedViews(source), materializedViewDependencies(target)]);
  const wanted = new Set(populated.map((v) => keyOf(v)));
  const views = refreshOrder(onTarget).filter((v) => wanted.has(keyOf(v)));
  for (const view of views) await target.unsafe(`refresh materialized view ${qualified(view.schema, view.name)}`);
  return views.length;
}

type ViewName = { readonly schema: string; readonly name: string };

const keyOf = (view: ViewName): string => JSON.stringify([view.schema, view.name]);

/** The views, each after those it reads, otherwise in the order given. */
export function refreshOrder<V extends ViewName & { readonly readsFrom: readonly ViewName[] }>(views: readonly V[]): V[] {
  const byKey = new Map(views.map((v) => [keyOf(v), v]));
  const placed = new Set<string>();
  const order: V[] = [];
  // Depth first; a view on the current path is not entered again (PostgreSQL allows no cycle, but a catalog read mid-change could show one).
  const place = (view: V, path: Set<string>): void => {
    const key = keyOf(view);
    if (placed.has(key) || path.has(key)) return;
    path.add(key);
    for (const read of view.readsFrom) {
      const before = byKey.get(keyOf(read));
      if (before) place(before, path);
    }
    path.delete(key);
    placed.add(key);
    order.push(view);
  };
  for (const view of views) place(view, new Set());
  return order;
}
