/**
 * Opens postgres.js pools the one way the library allows: TLS exactly as the
 * caller's `sslmode` says, notices swallowed (postgres.js prints them to the
 * console by default), and every failure turned into a {@link MigrationError}
 * that names the side and never the password.
 *
 * @module
 */
import type { ConnectionOptions } from 'node:tls';
import type { Sql } from 'postgres';
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { migrationError, type ErrorCause, type MigrationError, type MigrationErrorKind } from '../errors.js';
import { describeConnection, type ConnectionConfig } from '../options.js';
import type { Redactor } from '../redact.js';
import { createPool } from './pool.js';
import { readTlsFiles } from './tls-files.js';

/** Which cluster a connection or a failure belongs to. */
export type Side = 'source' | 'target';

/** One open pool and what it is for, so errors can say where they happened. */
export interface Connection {
  readonly sql: Sql;
  readonly side: Side;
  readonly database: string;
}

export interface OpenOptions {
  /** Pool size; most work holds one connection at a time. */
  readonly max?: number;
  readonly applicationName?: string;
  /**
   * One connection that is never replaced: once it closes, every later query
   * fails instead of running on a new connection without the first one's
   * transaction or snapshot.
   */
  readonly single?: boolean;
  /**
   * Sessions that may write even where the database defaults to read-only
   * (`default_transaction_read_only`), as cutover() makes the source.
   */
  readonly readWrite?: boolean;
  /** Sessions that never read or send arrays: see `reserveTypeless` in pool.ts. */
  readonly typeless?: boolean;
}

/**
 * Startup parameters of every session the library opens, which a database's
 * or role's own settings (`ALTER DATABASE … SET statement_timeout`, an
 * application's guard rail, migrated with the database's other properties)
 * cannot override: a copy, an index build, a stop's ANALYZE or postgres.js's
 * own type lookup at connect would otherwise be cancelled part-way. Every
 * server the library supports (10+) has these three.
 */
export const SESSION_DEFAULTS: { readonly statement_timeout: number; readonly lock_timeout: number; readonly idle_in_transaction_session_timeout: number } = {
  // As text: postgres.js leaves out startup parameters whose value is falsy, 0 included.
  statement_timeout: '0' as unknown as number,
  lock_timeout: '0' as unknown as number,
  idle_in_transaction_session_timeout: '0' as unknown as number,
};

/** {@link SESSION_DEFAULTS} as libpq's `options` (`PGOPTIONS`): for the tools and the subscription's connection. */
export const SESSION_DEFAULTS_OPTION = Object.entries(SESSION_DEFAULTS)
  .map(([name, value]) => `-c ${name}=${String(value)}`)
  .join(' ');

/** postgres.js's `ssl` option for one connection attempt. */
export type DriverTls = false | 'prefer' | ConnectionOptions;

/**
 * The attempts libpq makes for an `sslmode`, in order (each after the one
 * before failed the way {@link fallsBack} says): `allow` tries plain text,
 * then TLS if the server refuses it; `prefer` tries TLS, then plain text if
 * the server does not offer TLS or the handshake fails. With an sslrootcert,
 * every TLS attempt checks the server's chain against it (libpq does so
 * whenever a root certificate file is there, `require` included), and only
 * `verify-full` checks the host name. Throws (into openConnection's guard)
 * when a certificate file is unusable.
 */
export function tlsAttempts(config: ConnectionConfig): readonly DriverTls[] {
  const files: ConnectionOptions = readTlsFiles(config).match(
    (read) => read,
    (problem) => {
      throw new Error(problem);
    },
  );
  const tls: ConnectionOptions = {
    ...files,
    rejectUnauthorized: config.sslmode === 'verify-ca' || config.sslmode === 'verify-full' || config.sslrootcert !== undefined,
    // postgres.js sets the SNI name itself (never an IP address, as RFC 6066 wants) and Node checks the host.
    ...(config.sslmode === 'verify-full' ? {} : { checkServerIdentity: () => undefined }),
  };
  switch (config.sslmode) {
    case 'disable':
      return [false];
    case 'allow':
      return [false, tls];
    case 'prefer':
      // postgres.js falls back to plain text on the server's "no" by itself only without TLS options.
      return [config.sslrootcert || config.sslcert ? tls : 'prefer', false];
    case 'require':
    case 'verify-ca':
    case 'verify-full':
      return [tls];
  }
}

/** The attempt that last opened a connection for `config`, so later pools and sessions skip the failing one. */
const chosen = new WeakMap<ConnectionConfig, number>();

/**
 * postgres.js's `ssl` option for a connection of `config`: the attempt that
 * worked for the last {@link openConnection}, or else the first.
 */
export function tlsOptions(config: ConnectionConfig): DriverTls {
  const attempts = tlsAttempts(config);
  return attempts[chosen.get(config) ?? 0] ?? false;
}

/**
 * The password postgres.js sends. Without one, postgres.js would send
 * `PGPASSWORD` from this process's environment, which the client tools (whose
 * PG* variables are dropped) and the destination's subscription never see:
 * a migration would pass preflight and fail in pg_dumpall, and a password
 * meant for one server could reach the other. So the empty password, and a
 * clear `auth` error where the server asks for one.
 */
export function driverPassword(config: ConnectionConfig): string | (() => string) {
  return config.password ?? (() => '');
}

/**
 * Whether libpq would make its next attempt after this failure: under
 * `allow`, when the server refused the plain connection; under `prefer`,
 * when TLS failed.
 */
function fallsBack(config: ConnectionConfig, error: MigrationError): boolean {
  if (config.sslmode === 'allow') return error.cause?.name === 'PostgresError';
  return config.sslmode === 'prefer' && error.kind === 'tls';
}

/**
 * Opens a pool to `database` on one side and proves it works with a round
 * trip, so a wrong password or a missing database surfaces here, classified.
 * TLS is negotiated as libpq would (see {@link tlsAttempts}).
 */
export function openConnection(
  config: ConnectionConfig,
  side: Side,
  database: string,
  redactor: Redactor,
  options: OpenOptions = {},
): ResultAsync<Connection, MigrationError> {
  let attempts: readonly DriverTls[];
  try {
    attempts = tlsAttempts(config);
  } catch (error) {
    return errAsync(setupError(error, side, redactor));
  }
  const attempt = (index: number, earlier: MigrationError | undefined): ResultAsync<Connection, MigrationError> =>
    openPool(config, side, database, redactor, options, attempts[index] ?? false)
      .map((connection) => {
        chosen.set(config, index);
        return connection;
      })
      .orElse((error) => {
        if (earlier === undefined && index + 1 < attempts.length && fallsBack(config, error)) return attempt(index + 1, error);
        return errAsync(earlier === undefined ? error : moreTelling(earlier, error));
      });
  return attempt(chosen.get(config) ?? 0, undefined);
}

/**
 * Of a first attempt's failure and its fallback's, the one that names the
 * problem: a fallback's TLS failure only restates that the first attempt
 * was the way to go, unless the first was the server refusing plain text.
 */
function moreTelling(first: MigrationError, fallback: MigrationError): MigrationError {
  const refusedPlain = first.kind === 'tls' && first.cause?.code === '28000';
  return fallback.kind === 'tls' && !refusedPlain ? first : fallback;
}

function setupError(error: unknown, side: Side, redactor: Redactor): MigrationError {
  return migrationError('options', `Cannot set up the ${side} connection: ${redactor.scrub(messageOf(error))}`, {
    side,
    hint: 'Check the certificate files named by sslrootcert, sslcert and sslkey.',
  });
}

function openPool(
  config: ConnectionConfig,
  side: Side,
  database: string,
  redactor: Redactor,
  options: OpenOptions,
  ssl: DriverTls,
): ResultAsync<Connection, MigrationError> {
  let sql: Sql;
  try {
    sql = createPool({
      host: config.host,
      port: config.port,
      database,
      username: config.username,
      password: driverPassword(config),
      ssl,
      max: options.single ? 1 : options.max ?? 4,
      idle_timeout: options.single ? 0 : 30,
      ...(options.single ? { max_lifetime: 0, onclose: () => void sql.end({ timeout: 0 }).catch(() => undefined) } : {}),
      connect_timeout: 15,
      ...(options.typeless ? { fetch_types: false } : {}),
      onnotice: () => undefined,
      prepare: false,
      connection: {
        application_name: options.applicationName ?? 'datalakehouse-db-migrate',
        ...SESSION_DEFAULTS,
        // As text: postgres.js leaves out startup parameters whose value is false.
        ...(options.readWrite ? { default_transaction_read_only: 'off' as unknown as boolean } : {}),
      },
    });
  } catch (error) {
    return errAsync(setupError(error, side, redactor));
  }
  return ResultAsync.fromPromise(sql`select 1`, (error) =>
    classifyConnectionError(error, { config, side, database, redactor }),
  )
    .andThen(() => okAsync({ sql, side, database }))
    .orElse((error) => ResultAsync.fromSafePromise(sql.end({ timeout: 1 })).andThen(() => errAsync(error)));
}

/** Closes a pool, waiting briefly for running queries. Never fails. */
export function closeConnection(connection: Connection | Sql): Promise<void> {
  const sql = 'sql' in connection ? connection.sql : connection;
  return sql.end({ timeout: 5 }).catch(() => undefined);
}

interface ErrorContext {
  readonly config: ConnectionConfig;
  readonly side: Side;
  readonly database: string;
  readonly redactor: Redactor;
}

/** Sorts a failed connection attempt into unreachable / auth / TLS / missing database. */
export function classifyConnectionError(error: unknown, context: ErrorContext): MigrationError {
  const { config, side, database, redactor } = context;
  const where = describeConnection(config, database);
  const cause = toCause(error, redactor);
  const code = cause.code ?? '';
  const text = cause.message.toLowerCase();
  const build = (kind: MigrationErrorKind, message: string, hint: string): MigrationError =>
    migrationError(kind, message, { side, database, hint, cause });

  if (code === '28P01' || text.includes('password authentication failed') || text.includes('sasl')) {
    return build(
      'auth',
      `Authentication failed for the ${side} (${where})`,
      config.password === undefined
        ? `No password was given for the ${side}, and the server asks for one: put it in the ${side} URI or its password field (PGPASSWORD and ~/.pgpass are not read).`
        : `Check the ${side} username and password.`,
    );
  }
  if (code === '28000' && text.includes('no encryption')) {
    return build(
      'tls',
      `The ${side} server requires TLS (${where})`,
      `Connect with sslmode=require (or verify-ca / verify-full with sslrootcert).`,
    );
  }
  if (code === '28000') {
    return build('auth', `The ${side} server rejected ${where}: ${cause.message}`, `Allow this client in the ${side}'s pg_hba.conf, or use another user.`);
  }
  if (code === '3D000') {
    return build(
      'database-missing',
      `Database "${database}" does not exist on the ${side} (${config.host}:${config.port})`,
      `Create it, or point the ${side} connection at an existing database.`,
    );
  }
  const tls = classifyTlsFailure(cause, config, side);
  if (tls) return build('tls', `${tls.message} (${where}, sslmode=${config.sslmode})`, tls.hint);
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'ECONNRESET'].includes(code)) {
    return build(
      'connection',
      `Cannot reach the ${side} at ${config.host}:${config.port} (${code})`,
      `Check the ${side} host and port, and that the server accepts TCP connections from here.`,
    );
  }
  return build('connection', `Cannot connect to the ${side} (${where}): ${cause.message}`, `Check the ${side} connection settings.`);
}

/** Node's verification codes for a certificate chain that does not lead to a trusted CA. */
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
]);

/**
 * What went wrong with TLS, told by the error postgres.js and Node produce
 * for each case, so the hint names the real cause: a server without TLS is
 * not a certificate problem, and a host name mismatch is not an untrusted CA.
 */
function classifyTlsFailure(cause: ErrorCause, config: ConnectionConfig, side: Side): { message: string; hint: string } | undefined {
  const code = cause.code ?? '';
  const wantsTls = config.sslmode === 'require' || config.sslmode === 'verify-ca' || config.sslmode === 'verify-full';
  // The server answered the SSL request with "no"; postgres.js goes on with
  // the handshake anyway, and the server hangs up on it.
  if (code === 'ECONNRESET' && /before secure TLS connection was established/i.test(cause.message) && wantsTls) {
    return {
      message: `The ${side} server does not offer TLS, which sslmode=${config.sslmode} requires`,
      hint: `Enable TLS on the ${side} server (ssl = on, with ssl_cert_file and ssl_key_file), or connect with sslmode=prefer or disable.`,
    };
  }
  if (UNTRUSTED_CERTIFICATE.has(code)) {
    const selfSigned = code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ? ' (it is self-signed)' : '';
    return {
      message: `The ${side} server's certificate is not trusted${selfSigned}: ${cause.message}`,
      hint: config.sslrootcert
        ? `The certificate is not signed by a CA in sslrootcert "${config.sslrootcert}": set sslrootcert to the CA certificate that signed the ${side}'s certificate, or use sslmode=require to encrypt without verifying.`
        : `No sslrootcert was given, and the certificate is not signed by a CA this machine trusts: set sslrootcert to the CA certificate that signed the ${side}'s certificate, or use sslmode=require to encrypt without verifying.`,
    };
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return {
      message: `The ${side} server's certificate ${code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet'}`,
      hint: `Renew the ${side} server's certificate, or check this machine's clock.`,
    };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = /altnames: (.*)$/.exec(cause.message)?.[1];
    return {
      message: `The ${side} server's certificate is not for the host name "${config.host}"`,
      hint:
        `sslmode=verify-full checks that the certificate names the host connected to${names ? `; it names ${names}` : ''}. ` +
        `Connect with a host name the certificate names, or use sslmode=verify-ca to check the CA only.`,
    };
  }
  if (
    /\b(ssl|tls)\b|certificate|self.signed|unable to verify/i.test(cause.message) ||
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.startsWith('ERR_OSSL')
  ) {
    return {
      message: `TLS with the ${side} failed: ${cause.message}`,
      hint: `Check the ${side}'s sslmode, sslrootcert, sslcert and sslkey against the server's TLS settings.`,
    };
  }
  return undefined;
}

/**
 * A plain, redacted copy of a driver or tool error. postgres.js keeps the
 * statement text on hidden properties, and a statement may carry a connection
 * string: only the listed fields cross over.
 */
export function toCause(error: unknown, redactor: Redactor): ErrorCause {
  const source = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const text = (key: string): string | undefined =>
    typeof source[key] === 'string' && source[key] !== '' ? redactor.scrub(source[key] as string) : undefined;
  const cause: { -readonly [K in keyof ErrorCause]: ErrorCause[K] } = {
    message: redactor.scrub(messageOf(error)),
  };
  const name = text('name');
  const code = text('code');
  const detail = text('detail');
  const hint = text('hint');
  if (name !== undefined) cause.name = name;
  if (code !== undefined) cause.code = code;
  if (detail !== undefined) cause.detail = detail;
  if (hint !== undefined) cause.hint = hint;
  return cause;
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return String(error);
}

/**
 * Wraps a query on an open connection: a failure becomes a `kind` error for
 * that side and database, with the server's words (redacted) in its message.
 */
export function query<T>(
  connection: Connection,
  redactor: Redactor,
  kind: MigrationErrorKind,
  what: string,
  run: (sql: Sql) => Promise<T>,
): ResultAsync<T, MigrationError> {
  return ResultAsync.fromPromise(run(connection.sql), (error) => {
    const cause = toCause(error, redactor);
    if (isConnectionLoss(error)) return connectionLost(`${what} on the ${connection.side} database "${connection.database}"`, cause, connection);
    return migrationError(kind, `${what} failed on the ${connection.side} database "${connection.database}": ${cause.message}`, {
      side: connection.side,
      database: connection.database,
      cause,
      ...(cause.hint !== undefined ? { hint: cause.hint } : {}),
    });
  });
}

/** Error codes of a connection that went away under a running migration. */
const LOSS_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  // admin_shutdown, crash_shutdown, cannot_connect_now: the server stops, crashed or is still starting.
  '57P01',
  '57P02',
  '57P03',
]);

/**
 * True when `error` (a driver error, or a {@link ErrorCause} copied from one)
 * says the connection went away: the server stopped, restarted or crashed,
 * the backend was terminated, or the network dropped it. SQLSTATE class 08
 * is "connection exception". The `TypeError` is what postgres.js 3.4 throws
 * when it writes to a connection that already closed (see pool.ts).
 */
export function isConnectionLoss(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (LOSS_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && message.includes("Cannot read properties of null (reading 'write')");
}

/**
 * The `connection` error for work that a lost connection interrupted: which
 * side closed it when known, and that a re-run picks up from there.
 */
export function connectionLost(
  what: string,
  cause: ErrorCause,
  scope: { readonly side?: Side | undefined; readonly database?: string | undefined } = {},
): MigrationError {
  const who = scope.side ? `The ${scope.side}` : 'A server';
  return migrationError('connection', `${what} failed: the connection was lost (${cause.message})`, {
    side: scope.side,
    database: scope.database,
    cause,
    hint:
      `${who} closed the connection (server stopped or restarted, or the backend was terminated); ` +
      'run migrate() again once it is back: finished databases are kept and this one is redone.',
  });
}

const errorSides = new WeakMap<object, Side>();

/** Remembers which side `error` came from, unless something already said so. Returns `error`. */
export function tagSide<T>(error: T, side: Side): T {
  if (typeof error === 'object' && error !== null && !errorSides.has(error)) errorSides.set(error, side);
  return error;
}

/** The side {@link tagSide} recorded for `error`. */
export function sideOf(error: unknown): Side | undefined {
  return typeof error === 'object' && error !== null ? errorSides.get(error) : undefined;
}

/**
 * The side a postgres.js connection error concerns, by the address it names:
 * the source's address is the source, any other the destination. Server
 * errors (a terminated backend) name no address.
 */
export function sideByAddress(error: unknown, source: Pick<ConnectionConfig, 'host' | 'port'>): Side | undefined {
  const { address, port } = (typeof error === 'object' && error !== null ? error : {}) as { address?: unknown; port?: unknown };
  if (typeof address !== 'string' || typeof port !== 'number') return undefined;
  return address === source.host && port === source.port ? 'source' : 'target';
}
