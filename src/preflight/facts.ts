/**
 * What preflight learns from both clusters before judging anything. Checks
 * are pure functions of these facts, so each reads as the rule it enforces.
 *
 * @module
 */
import type { MigrationError } from '../errors.js';
import type { MethodOption } from '../options.js';
import type { DatabaseInfo } from '../pg/queries/databases.js';
import type { FilteredTable, TableSelectionOptions } from '../selection/table-filter.js';
import type { AvailableExtension, InstalledExtension } from '../pg/queries/extensions.js';
import type { BackgroundWorkers } from '../pg/queries/background-workers.js';
import type { CompressedColumn } from '../pg/queries/column-compression.js';
import type { ManagedService } from '../pg/queries/managed-service.js';
import type { DatabaseRights, ExtrasAvailability } from '../pg/queries/publishing-rights.js';
import type { ReplicationUsage } from '../pg/queries/replication-usage.js';
import type { RoleRights } from '../pg/queries/role-rights.js';
import type { StatementRecorder } from '../pg/queries/statement-records.js';
import type { ServerSettings } from '../pg/queries/server-settings.js';
import type { PgTools } from '../pg/tools.js';
import type { TargetDatabase } from '../state/decide.js';
import type { DatabaseRecord } from '../state/state-store.js';
import type { CheckSubject } from './report.js';

export interface ClusterFacts {
  readonly settings: ServerSettings;
  readonly rights: RoleRights;
  readonly usage: ReplicationUsage;
  /** What of max_worker_processes is taken by something other than logical replication. */
  readonly backgroundWorkers: BackgroundWorkers;
  /** The managed service the cluster runs on, when its facts tell. */
  readonly managed: ManagedService | null;
}

export interface TargetFacts extends ClusterFacts {
  readonly availableExtensions: readonly AvailableExtension[];
  readonly extras: ExtrasAvailability;
  /** The destination's settings that would record a statement's text (and a subscription's password). */
  readonly statementRecorders: readonly StatementRecorder[];
}

export interface DatabaseFacts {
  /** The source database. */
  readonly info: DatabaseInfo;
  /** The destination database's name (`info.name` unless the caller renamed it). */
  readonly targetName: string;
  readonly extensions: readonly InstalledExtension[];
  readonly tablesWithoutIdentity: readonly string[];
  /**
   * REPLICA IDENTITY FULL tables without a primary key that have columns of a
   * type without an equality operator, with those types: the destination
   * cannot find the row their UPDATEs and DELETEs name.
   */
  readonly fullIdentityWithoutEquality: readonly { readonly table: string; readonly types: readonly string[] }[];
  readonly unloggedTables: readonly string[];
  /** Columns of the selected tables whose definition names a compression method. */
  readonly compressedColumns: readonly CompressedColumn[];
  readonly largeObjects: number;
  /** Its tables and partitioned tables, for naming what `tables` selects. */
  readonly tableNames: readonly FilteredTable[];
  /** Foreign keys the destination could not create: into tables, or partitions, the selection leaves out. */
  readonly keysOutOfSelection: readonly string[];
  /** Objects the schema dump keeps that need one the selection leaves out (`view public.v needs table public.t`). */
  readonly needsOutOfSelection: readonly string[];
  /** What the source role may publish in this database. */
  readonly rights: DatabaseRights;
  /** The destination database of the same name, as it is now. */
  readonly target: TargetDatabase;
  /** What the destination role may do in that database; `null` when it does not exist yet. */
  readonly targetRights: DatabaseRights | null;
  /** What an earlier run recorded for this database, if anything. */
  readonly previous: DatabaseRecord | undefined;
}

export interface PreflightFacts {
  readonly method: MethodOption;
  /** The caller lets the migration fill destination databases that hold objects. */
  readonly allowNonEmptyTarget: boolean;
  /** The caller accepts a destination of an older major than the source. */
  readonly allowOlderTarget: boolean;
  /** The `tables` and `excludeSchemas` options. */
  readonly selection: TableSelectionOptions;
  /** Extensions the caller does not need on the destination. */
  readonly excludeExtensions: readonly string[];
  readonly source: ClusterFacts;
  readonly target: TargetFacts;
  readonly tools: PgTools | MigrationError;
  readonly databases: readonly DatabaseFacts[];
  /** Databases named in `databases` that the source does not have. */
  readonly unknownDatabases: readonly string[];
}

/**
 * A rule's verdict before the method is known to matter: `ok`, or a problem
 * that blocks `replication` (auto falls back), the whole `migration`, or
 * nothing (a warning).
 */
export interface Finding extends CheckSubject {
  readonly ok: boolean;
}

export type Check = (facts: PreflightFacts) => Finding[];
