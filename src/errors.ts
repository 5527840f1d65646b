/**
 * Every failure the library reports is a {@link MigrationError}: a plain object
 * discriminated on `kind`, so a caller can `switch` on it exhaustively and log it
 * as JSON as it is. Messages never carry a password: they are built from
 * redacted text only (see {@link Redactor}).
 *
 * @module
 */

/** The kinds of failure, from "could not reach the server" to "refused to stop". */
export type MigrationErrorKind =
  | 'options'
  | 'connection'
  | 'auth'
  | 'tls'
  | 'database-missing'
  | 'version'
  | 'preflight'
  | 'privilege'
  | 'tool'
  | 'schema'
  | 'copy'
  | 'replication'
  | 'target-not-empty'
  | 'identity'
  | 'busy'
  | 'unsafe-stop'
  | 'verification'
  | 'cancelled'
  | 'internal';

/** Where a failure happened, when it concerns one side or one database. */
export interface ErrorScope {
  readonly side?: 'source' | 'target';
  readonly database?: string;
}

/**
 * A plain-data copy of the underlying error: never the live object, which may
 * hold the statement text (and so a connection string) on hidden properties.
 */
export interface ErrorCause {
  readonly name?: string;
  readonly code?: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

/**
 * A failure as a value. `message` says what went wrong, `hint` what to do about
 * it (when there is something to do), `cause` what the driver or tool said.
 *
 * ### Examples
 * ```ts
 * const run = await migrator.migrate();
 * if (run.isErr()) {
 *   switch (run.error.kind) {
 *     case 'busy': return retryLater();
 *     case 'connection': case 'auth': case 'tls': return alertOperator(describeError(run.error));
 *     default: throw new Error(describeError(run.error));
 *   }
 * }
 * ```
 */
export interface MigrationError extends ErrorScope {
  readonly kind: MigrationErrorKind;
  readonly message: string;
  readonly hint?: string;
  readonly cause?: ErrorCause;
  /** For `preflight`: the failed checks, one line each. */
  readonly reasons?: readonly string[];
}

/** Builds a {@link MigrationError}, leaving out fields that are not set. */
export function migrationError(
  kind: MigrationErrorKind,
  message: string,
  extra: {
    hint?: string | undefined;
    cause?: ErrorCause | undefined;
    side?: 'source' | 'target' | undefined;
    database?: string | undefined;
    reasons?: readonly string[] | undefined;
  } = {},
): MigrationError {
  const error: {
    -readonly [K in keyof MigrationError]: MigrationError[K];
  } = { kind, message };
  if (extra.side !== undefined) error.side = extra.side;
  if (extra.database !== undefined) error.database = extra.database;
  if (extra.hint !== undefined) error.hint = extra.hint;
  if (extra.cause !== undefined) error.cause = extra.cause;
  if (extra.reasons !== undefined) error.reasons = extra.reasons;
  return error;
}

/**
 * One line for logs and for the service's `error` field: the message, then the hint.
 *
 * ### Examples
 * ```ts
 * const run = await migrator.migrate();
 * if (run.isErr()) logger.error({ kind: run.error.kind }, describeError(run.error));
 * ```
 */
export function describeError(error: MigrationError): string {
  return error.hint ? `${error.message} (${error.hint})` : error.message;
}

/**
 * True for values shaped like a {@link MigrationError}: for a host that gets
 * errors from several libraries through one channel.
 *
 * ### Examples
 * ```ts
 * queue.on('failed', (reason: unknown) => {
 *   if (isMigrationError(reason) && reason.kind === 'busy') retryLater();
 * });
 * ```
 */
export function isMigrationError(value: unknown): value is MigrationError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}
