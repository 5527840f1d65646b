/**
 * Compares the contents of materialized views populated on either side, by
 * row count and checksum like tables. PostgreSQL does not replicate them:
 * a replicating destination's views hold what they held when the initial
 * copy refreshed them until stop() refreshes them again, so a difference
 * then is expected.
 *
 * @module
 */
import type { Sql } from 'postgres';
import { populatedMaterializedViews } from '../pg/queries/materialized-views.js';
import { forEachLimited } from '../util/for-each-limited.js';
import type { VerifyDifference } from './report.js';
import { checksumOf } from './table-checksums.js';
import { displayName, tableKey } from './table-key.js';
import { onSide, type VerifySessions } from './verify-sessions.js';

const RECOMPUTED_HINT =
  "The destination's materialized view was computed from the destination's rows; the source's holds what its last REFRESH computed, which may be older. REFRESH MATERIALIZED VIEW on the source to compare like with like.";
const REPLICATING_HINT = 'PostgreSQL does not replicate materialized views: stop() and cutover() refresh them on the destination.';

export async function compareMaterializedViews(
  scope: { readonly source: Sql; readonly target: Sql; readonly sessions: VerifySessions; readonly jobs: number },
  options: { readonly replicating: boolean; readonly skipSchemas: readonly string[] },
): Promise<VerifyDifference[]> {
  const compared = (views: { schema: string; name: string }[]): { schema: string; name: string }[] => views.filter((v) => !options.skipSchemas.includes(v.schema));
  const [onSource, onTarget] = await Promise.all([
    onSide('source', populatedMaterializedViews(scope.source).then(compared)),
    onSide('target', populatedMaterializedViews(scope.target).then(compared)),
  ]);
  const targetKeys = new Set(onTarget.map((v) => tableKey(v.schema, v.name)));
  const sourceKeys = new Set(onSource.map((v) => tableKey(v.schema, v.name)));
  // A materialized view holds what its last REFRESH computed on its own cluster: the destination's is
  // recomputed there (by the restore, by stop() and cutover()), so different content is news only when
  // the source's is known fresh, which it never is. Missing or unpopulated on the destination is a difference.
  const difference = (schema: string, name: string, detail: string, content: boolean): VerifyDifference => {
    const expected = content || options.replicating;
    return {
      kind: 'materialized-view',
      object: displayName(schema, name),
      expected,
      detail,
      ...(expected ? { hint: content ? RECOMPUTED_HINT : REPLICATING_HINT } : {}),
    };
  };

  const found: (VerifyDifference | undefined)[] = new Array<VerifyDifference | undefined>(onSource.length);
  await forEachLimited(onSource, scope.jobs, async ({ schema, name }, i) => {
    if (!targetKeys.has(tableKey(schema, name))) {
      found[i] = difference(schema, name, 'Populated on the source; on the destination it is missing or was never refreshed', false);
      return;
    }
    const [s, t] = await scope.sessions.use(({ source, target }) =>
      Promise.all([onSide('source', checksumOf(source, schema, name, null)), onSide('target', checksumOf(target, schema, name, null))]),
    );
    if (s.rows !== t.rows) found[i] = difference(schema, name, `The source's holds ${s.rows} rows, the destination's ${t.rows}`, true);
    else if (s.sum !== t.sum) found[i] = difference(schema, name, `Same ${s.rows} rows on both sides, with different content`, true);
  });
  const onlyOnTarget = onTarget
    .filter((v) => !sourceKeys.has(tableKey(v.schema, v.name)))
    .map((v) => difference(v.schema, v.name, 'Populated on the destination only; on the source it is missing or was never refreshed', true));
  return [...found.filter((d): d is VerifyDifference => d !== undefined), ...onlyOnTarget];
}
