/**
 * Compares every sequence's position (`last_value`, `is_called`) on both
 * sides. PostgreSQL does not replicate sequences: while a database
 * replicates, its destination's sequences stay where the initial copy left
 * them until stop() sets them, so a difference then is expected.
 *
 * @module
 */
import type { Sql } from 'postgres';
import { readSequences, type SequenceValue } from '../pg/queries/sequences.js';
import type { VerifyDifference } from './report.js';
import { displayName, tableKey } from './table-key.js';
import { onSide } from './verify-sessions.js';

const REPLICATING_HINT = 'PostgreSQL does not replicate sequences: stop() and cutover() set them on the destination once it has caught up with the source.';

export async function compareSequences(source: Sql, target: Sql, options: { replicating: boolean; selective?: boolean }): Promise<VerifyDifference[]> {
  const [onSource, onTarget] = await Promise.all([onSide('source', readSequences(source)), onSide('target', readSequences(target))]);
  // With tables left out, their sequences stay behind with them: only those on both sides are compared.
  const present = new Set(onTarget.map((s) => tableKey(s.schema, s.name)));
  return sequenceDifferences(options.selective ? onSource.filter((s) => present.has(tableKey(s.schema, s.name))) : onSource, onTarget, options);
}

export function sequenceDifferences(
  onSource: readonly SequenceValue[],
  onTarget: readonly SequenceValue[],
  options: { replicating: boolean },
): VerifyDifference[] {
  const targets = new Map(onTarget.map((s) => [tableKey(s.schema, s.name), s]));
  const sourceKeys = new Set(onSource.map((s) => tableKey(s.schema, s.name)));
  const position = (s: SequenceValue): string => `${s.lastValue}${s.isCalled ? '' : ' (not yet called)'}`;
  const differences: VerifyDifference[] = [];
  for (const s of onSource) {
    const object = displayName(s.schema, s.name);
    const t = targets.get(tableKey(s.schema, s.name));
    if (!t) {
      differences.push({ kind: 'sequence', object, expected: false, detail: 'The source has this sequence; the destination does not' });
    } else if (t.lastValue !== s.lastValue || t.isCalled !== s.isCalled) {
      differences.push({
        kind: 'sequence',
        object,
        expected: options.replicating,
        detail: `The source is at ${position(s)}, the destination at ${position(t)}`,
        ...(options.replicating ? { hint: REPLICATING_HINT } : {}),
      });
    }
  }
  for (const t of onTarget) {
    if (!sourceKeys.has(tableKey(t.schema, t.name))) {
      differences.push({ kind: 'sequence', object: displayName(t.schema, t.name), expected: false, detail: 'Only the destination has this sequence' });
    }
  }
  return differences;
}
