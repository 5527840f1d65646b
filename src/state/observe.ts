/**
 * A record checked against the clusters as they are now. `done` and
 * `syncing` are claims about data that is there: a destination database
 * that vanished or was replaced, a source that is not the one copied, or an
 * unhealthy replication makes them false, whatever the record says.
 *
 * @module
 */
import type { MigrationErrorKind } from '../errors.js';
import type { DatabaseStatus } from '../status.js';
import { sameSource } from './decide.js';
import type { DatabaseRecord, SourceIdentity } from './state-store.js';

/** What the clusters say of one database now; `undefined` where it could not be seen. */
export interface Observation {
  /** A run holds the migration lock somewhere. */
  readonly live: boolean;
  /** The destination database's OID, `null` when it does not exist. */
  readonly targetOid: number | null | undefined;
  /** The source database now, `undefined` when the source could not be read or no longer has it. */
  readonly source: SourceIdentity | undefined;
}

export function observe(record: DatabaseRecord, seen: Observation): DatabaseStatus {
  const base: DatabaseStatus = {
    dbname: record.dbname,
    method: record.method,
    status: record.status,
    error: record.error,
    errorKind: record.errorKind,
    fallbackReasons: record.fallbackReasons,
    ...(record.sourceDbname !== record.dbname ? { source: record.sourceDbname } : {}),
    ...(record.method === 'replication' ? { rights: record.rights, replicationName: record.replicationName } : {}),
    startedAt: record.startedAt,
    updatedAt: record.updatedAt,
  };
  const failed = (error: string, errorKind: MigrationErrorKind): DatabaseStatus => ({ ...base, status: 'failed', error, errorKind });
  if (record.status === 'running') {
    return seen.live ? base : failed('Interrupted before it finished; run migrate() again to redo or resume it', 'internal');
  }
  if (record.status === 'failed') return base;
  if (record.targetOid !== null && seen.targetOid !== undefined) {
    if (seen.targetOid === null) {
      return failed(`"${record.dbname}" no longer exists on the destination; run migrate() again to copy it anew`, 'database-missing');
    }
    if (seen.targetOid !== record.targetOid) {
      return failed(`"${record.dbname}" on the destination was dropped and created again since this migration filled it`, 'identity');
    }
  }
  if (seen.source && sameSource(record.source, seen.source) === false) {
    return failed(`"${record.dbname}" on the destination was migrated from another source, not from this migration's source`, 'identity');
  }
  return base;
}
