/**
 * datalakehouse-db-migrate: migrate whole PostgreSQL clusters into
 * datalakehouse for PostgreSQL — preflight, roles and schema first, then
 * logical replication or dump and restore per database.
 *
 * ### Examples
 * ```ts
 * import { Migrator, toServiceResponse } from 'datalakehouse-db-migrate';
 *
 * const migrator = new Migrator({ source: process.env.SOURCE_URI!, target: process.env.TARGET_URI! });
 * migrator.on('progress', (event) => logger.info(event));
 * const status = await migrator.migrate();
 * if (status.isOk()) respond(toServiceResponse(status.value));
 * await migrator.close();
 * ```
 *
 * @module
 */
export { nextEvent, type EventOf } from './next-event.js';
export { Migrator, type CallOptions, type CutoverOptions, type MigrateOptions, type StopOptions } from './migrator.js';
export { toServiceResponse } from './status.js';
export type { DatabaseMethod, DatabaseState, DatabaseStatus, MigrationStatus, ReplicationLag, ServiceResponse } from './status.js';
export { describeError, isMigrationError } from './errors.js';
export type { ErrorCause, MigrationError, MigrationErrorKind } from './errors.js';
export type {
  CatchUpEvent,
  CheckEvent,
  CopyProgressEvent,
  CopyStartEvent,
  CopyTableProgress,
  CutoverEvent,
  DatabaseDoneEvent,
  DatabaseStartEvent,
  Listener,
  MigrationEvent,
  MigratorEvents,
  ObjectsCopiedEvent,
  PlanEvent,
  ReplicationRightsEvent,
  ReplicationStateEvent,
  SchemaEvent,
  TableCopiedEvent,
  VerifyDatabaseEvent,
  VerifyTableEvent,
  WarningEvent,
} from './events.js';
export { EVENT_NAMES, type EventName } from './event-names.js';
export type { CheckResult, CheckStatus, DatabasePlan, PreflightReport, ServerSummary } from './preflight/report.js';
export { CHECK_IDS, type CheckId } from './preflight/report.js';
export type { ConnectionFields, ConnectionInput, DatabaseRename, MethodOption, MigratorOptions, SslMode } from './options.js';
export { METHODS } from './options.js';
export type { Side } from './pg/connect.js';
export { replicationName } from './strategies/replication/names.js';
export type {
  DatabaseVerification,
  TableVerification,
  VerifyDifference,
  VerifyDifferenceKind,
  VerifyOptions,
  VerifyReport,
  VerifyVerdict,
} from './verify/report.js';
export type { ReplicationPaths, SourcePath, TargetPath } from './strategies/replication/rights/paths.js';
