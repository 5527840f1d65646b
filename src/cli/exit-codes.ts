/**
 * The CLI's exit codes (docs/cli.md lists them), derived from the outcome
 * or from the library's error `kind`.
 *
 * @module
 */
import type { MigrationErrorKind } from '../index.js';

export const ExitCode = {
  /** Everything asked for holds: migrate: every database `done` or `syncing`; preflight: no failing check. */
  ok: 0,
  /** Something did not migrate: a database failed, a preflight check failed, a step could not run. */
  failed: 1,
  /** The command line or the options are wrong: nothing was attempted. */
  usage: 2,
  /** A cluster could not be reached or logged into (connection, auth, TLS, missing database). */
  unreachable: 3,
  /** Another migration holds the destination cluster's lock. */
  busy: 4,
  /** `stop` refused because a database is not in a safe state; `--force` overrides. */
  unsafeStop: 5,
  /** A defect of the tool: please report it. */
  internal: 70,
  /** Cancelled with Ctrl-C (128 + SIGINT, as shells report it). */
  cancelled: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Kinds that are not a failure of the migration itself. Every other kind
 * (`preflight`, `schema`, `copy`, `replication`, `version`, ... and kinds
 * added later) means something could not be migrated: exit 1.
 */
const BY_KIND: Partial<Readonly<Record<MigrationErrorKind, ExitCode>>> = {
  options: ExitCode.usage,
  connection: ExitCode.unreachable,
  auth: ExitCode.unreachable,
  tls: ExitCode.unreachable,
  'database-missing': ExitCode.unreachable,
  busy: ExitCode.busy,
  'unsafe-stop': ExitCode.unsafeStop,
  cancelled: ExitCode.cancelled,
  internal: ExitCode.internal,
};

export function exitCodeFor(kind: MigrationErrorKind): ExitCode {
  return BY_KIND[kind] ?? ExitCode.failed;
}
