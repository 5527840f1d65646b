/**
 * What a run does with each database, decided on identities: the record says
 * which source database it copies and which destination database (by OID) it
 * filled; the clusters say what is there now. Only a destination database
 * this migration provably created is ever dropped, and only while its copy is
 * unfinished.
 *
 * @module
 */
import type { DatabaseMethod } from '../status.js';
import type { DatabaseRecord, SourceIdentity } from './state-store.js';

/** A destination database as preflight found it. */
export interface TargetDatabase {
  readonly exists: boolean;
  readonly oid: number | null;
  /** User objects it holds, described ("table public.orders"), the first few. */
  readonly occupants: readonly string[];
  /** This migration's subscription exists in it. */
  readonly subscriptionExists: boolean;
}

export interface DecisionInput {
  readonly dbname: string;
  readonly record: DatabaseRecord | undefined;
  /** The source database as it is now. */
  readonly source: SourceIdentity;
  readonly target: TargetDatabase;
  /** The caller lets the migration fill destination databases that hold objects. */
  readonly allowNonEmptyTarget: boolean;
}

/**
 * - `keep`: finished, and still the database it filled from this source;
 * - `resume`: its replication is there to pick up;
 * - `create`: the destination database does not exist: create it;
 * - `fill`: an existing destination database that is empty (or the caller allows it);
 * - `redo`: an unfinished copy in a database this migration created: drop it, start over;
 * - `refuse`: touching it could destroy data that is not this migration's to destroy.
 */
export type Decision =
  | { readonly action: 'keep'; readonly method: DatabaseMethod; readonly reason: string }
  | { readonly action: 'resume'; readonly method: 'replication'; readonly reason: string }
  | { readonly action: 'create' | 'fill' | 'redo'; readonly reason: string }
  | { readonly action: 'refuse'; readonly kind: 'identity' | 'target-not-empty'; readonly reason: string; readonly hint: string };

/** True when a record's source is this source database; `undefined` when the record never said. */
export function sameSource(recorded: SourceIdentity | null, current: SourceIdentity): boolean | undefined {
  if (!recorded) return undefined;
  const systems = recorded.systemId !== null && current.systemId !== null ? recorded.systemId === current.systemId : true;
  return systems && recorded.databaseOid === current.databaseOid;
}

export function decide(input: DecisionInput): Decision {
  const { dbname, record, target } = input;
  const fromThisSource = sameSource(record?.source ?? null, input.source);
  const ours = record !== undefined && record.targetOid !== null && target.exists && target.oid === record.targetOid;

  if (ours && fromThisSource === false) {
    return {
      action: 'refuse',
      kind: 'identity',
      reason: `Database "${dbname}" on the destination was migrated from another source (${describeSource(record.source)}), not from this one (${describeSource(input.source)})`,
      hint: `Point the migration at the source it came from, or drop "${dbname}" on the destination to migrate this source into it.`,
    };
  }
  if (ours) {
    if (record.status === 'done') return { action: 'keep', method: record.method, reason: `"${dbname}" is done; it is kept as it is` };
    if (record.status === 'failed' && record.errorKind === 'unsafe-stop') {
      return {
        action: 'refuse',
        kind: 'identity',
        reason: `Database "${dbname}" was stopped by force before the destination caught up; it may have taken writes since`,
        hint: `Drop "${dbname}" on the destination to migrate it again.`,
      };
    }
    if (record.method === 'replication' && target.subscriptionExists) {
      return { action: 'resume', method: 'replication', reason: `"${dbname}" has its subscription from an earlier run; it is resumed` };
    }
    if (record.createdDatabase) {
      return { action: 'redo', reason: `"${dbname}" holds an unfinished earlier attempt in a database this migration created; it is dropped and redone` };
    }
  }
  if (!target.exists) {
    return {
      action: 'create',
      reason: record?.targetOid ? `"${dbname}" no longer exists on the destination; it is created again` : `"${dbname}" will be created on the destination`,
    };
  }
  if (target.occupants.length > 0 && !input.allowNonEmptyTarget) {
    const holds = `it holds ${target.occupants.join(', ')}`;
    return {
      action: 'refuse',
      kind: 'target-not-empty',
      reason:
        record?.targetOid && !ours
          ? `Database "${dbname}" on the destination is not the one this migration created (it was dropped and created again since) and is not empty: ${holds}`
          : ours
            ? `Database "${dbname}" on the destination is not empty and holds an unfinished earlier attempt in a database this migration did not create: ${holds}`
            : `Database "${dbname}" on the destination is not empty: ${holds}`,
      hint: `Drop or empty "${dbname}" on the destination, leave it out with ignoreDatabases, or pass allowNonEmptyTarget: true to fill it anyway.`,
    };
  }
  return {
    action: 'fill',
    reason: target.occupants.length > 0 ? `"${dbname}" exists on the destination and is filled as allowed, though ${target.occupants.join(', ')} is there` : `"${dbname}" exists on the destination and is empty`,
  };
}

function describeSource(source: SourceIdentity | null): string {
  if (!source) return 'unknown';
  return `cluster ${source.systemId ?? 'unknown'}, database OID ${source.databaseOid}`;
}
