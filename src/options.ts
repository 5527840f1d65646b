/**
 * Turns what a caller passes (a connection URI, or the migration guide's fields)
 * into one normalised shape, and checks the rest of the options once, up front.
 *
 * @module
 */
import { parse } from 'pg-connection-string';
import { err, ok, type Result } from 'neverthrow';
import { migrationError, type MigrationError } from './errors.js';

/** libpq's `sslmode`, honoured identically by every connection and every tool we start. */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/**
 * A connection given as fields: the migration guide's `SRC_HOSTNAME`, `SRC_PORT`,
 * `SRC_DATABASE`, `SRC_USERNAME`, `SRC_PASSWORD` and `SRC_SSL`.
 */
export interface ConnectionFields {
  readonly host: string;
  readonly port?: number | string;
  /** The database to connect to for cluster-wide work; default `postgres`. */
  readonly database?: string;
  /** Default `postgres`. */
  readonly username?: string;
  readonly password?: string;
  /** An sslmode, or `true` (= `require`) / `false` (= `disable`). Default `prefer`, as in libpq. */
  readonly ssl?: SslMode | boolean;
  /** File with the CA certificate(s) for `verify-ca` / `verify-full`. */
  readonly sslrootcert?: string;
  /** Client certificate and key files, for certificate authentication. */
  readonly sslcert?: string;
  readonly sslkey?: string;
}

/** A connection URI (`postgres://user:secret@host:5432/db?sslmode=require`) or its fields. */
export type ConnectionInput = string | ConnectionFields;

/** How a database's data is moved. */
export type MethodOption = 'auto' | 'replication' | 'dump';

/** The options of a {@link Migrator}. */
export interface MigratorOptions {
  /** The cluster to migrate from. */
  readonly source: ConnectionInput;
  /** The destination service. Its database (default `postgres`) also keeps the migration's state. */
  readonly target: ConnectionInput;
  /**
   * `auto` (default): logical replication where every precondition holds, dump
   * and restore elsewhere. `replication` or `dump`: that method only; a database
   * that cannot use it fails with the reasons.
   */
  readonly method?: MethodOption;
  /** Only these databases (default: every non-template database on the source that accepts connections). */
  readonly databases?: readonly string[];
  /** Never these databases. */
  readonly ignoreDatabases?: readonly string[];
  /** Directory holding pg_dump, pg_dumpall and pg_restore; by default the newest found on this machine. */
  readonly pgBinDir?: string;
  /** Tables copied at once by the dump method (default 2). */
  readonly jobs?: number;
  /** How long a replicated database may take to reach `syncing` before it fails (default 6 hours). */
  readonly syncTimeoutMs?: number;
  /** How often replication progress is polled (default 500 ms). */
  readonly pollIntervalMs?: number;
  /** Fill destination databases that already hold user objects instead of refusing them with `target-not-empty` (default false). */
  readonly allowNonEmptyTarget?: boolean;
  /** A replication whose lag passes this many bytes is reported failed (default 1 GiB). */
  readonly maxLagBytes?: number;
  /** How long stop() waits for the destination to apply everything the source had written when stop began (default 5 minutes). */
  readonly stopTimeoutMs?: number;
}

/** A connection after normalisation: every field known, the password kept apart from anything printable. */
export interface ConnectionConfig {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly username: string;
  readonly password: string | undefined;
  readonly sslmode: SslMode;
  readonly sslrootcert: string | undefined;
  readonly sslcert: string | undefined;
  readonly sslkey: string | undefined;
}

/** The options after normalisation and validation. */
export interface NormalizedOptions {
  readonly source: ConnectionConfig;
  readonly target: ConnectionConfig;
  readonly method: MethodOption;
  readonly databases: readonly string[] | undefined;
  readonly ignoreDatabases: readonly string[];
  readonly pgBinDir: string | undefined;
  readonly jobs: number;
  readonly syncTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly allowNonEmptyTarget: boolean;
  readonly maxLagBytes: number;
  readonly stopTimeoutMs: number;
}

const SIX_HOURS = 6 * 60 * 60 * 1000;

/** Validates and normalises {@link MigratorOptions}; never throws. */
export function normalizeOptions(input: unknown): Result<NormalizedOptions, MigrationError> {
  if (typeof input !== 'object' || input === null) return err(migrationError('options', 'The options must be an object with source and target'));
  const options = input as MigratorOptions;
  if (options.databases !== undefined && (!Array.isArray(options.databases) || !options.databases.every((d) => typeof d === 'string'))) {
    return err(migrationError('options', 'options.databases must be an array of database names'));
  }
  const method = options.method ?? 'auto';
  if (!['auto', 'replication', 'dump'].includes(method)) {
    return err(
      migrationError('options', `Unknown method "${String(method)}"`, {
        hint: "Use 'auto', 'replication' or 'dump'.",
      }),
    );
  }
  const jobs = options.jobs ?? 2;
  if (!Number.isInteger(jobs) || jobs < 1) {
    return err(migrationError('options', `jobs must be a positive integer, got ${String(jobs)}`));
  }
  for (const [name, value] of [
    ['syncTimeoutMs', options.syncTimeoutMs],
    ['pollIntervalMs', options.pollIntervalMs],
  ] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      return err(migrationError('options', `${name} must be a positive number of milliseconds, got ${String(value)}`));
    }
  }
  const source = normalizeConnection(options.source, 'source');
  if (source.isErr()) return err(source.error);
  const target = normalizeConnection(options.target, 'target');
  if (target.isErr()) return err(target.error);
  return ok({
    source: source.value,
    target: target.value,
    method,
    databases: options.databases,
    ignoreDatabases: options.ignoreDatabases ?? [],
    pgBinDir: options.pgBinDir,
    jobs,
    syncTimeoutMs: options.syncTimeoutMs ?? SIX_HOURS,
    pollIntervalMs: options.pollIntervalMs ?? 500,
    allowNonEmptyTarget: options.allowNonEmptyTarget ?? false,
    maxLagBytes: options.maxLagBytes ?? 1024 ** 3,
    stopTimeoutMs: options.stopTimeoutMs ?? 5 * 60 * 1000,
  });
}

/** Normalises one side's connection, from a URI or from fields. */
export function normalizeConnection(
  input: ConnectionInput,
  side: 'source' | 'target',
): Result<ConnectionConfig, MigrationError> {
  if (typeof input === 'string') return fromUri(input, side);
  if (typeof input !== 'object' || input === null || typeof input.host !== 'string' || input.host === '') {
    return err(
      migrationError('options', `The ${side} connection needs a URI or at least a host`, {
        side,
        hint: `Pass ${side}: 'postgres://user:password@host:5432/db' or { host, port, database, username, password, ssl }.`,
      }),
    );
  }
  const sslmode = toSslMode(input.ssl, side);
  if (sslmode.isErr()) return err(sslmode.error);
  const port = toPort(input.port, side);
  if (port.isErr()) return err(port.error);
  return ok({
    host: input.host,
    port: port.value,
    database: input.database || 'postgres',
    username: input.username || 'postgres',
    password: input.password,
    sslmode: sslmode.value,
    sslrootcert: input.sslrootcert,
    sslcert: input.sslcert,
    sslkey: input.sslkey,
  });
}

function fromUri(uri: string, side: 'source' | 'target'): Result<ConnectionConfig, MigrationError> {
  if (!/^postgres(ql)?:\/\//i.test(uri)) {
    return err(
      migrationError('options', `The ${side} connection string is not a postgres:// URI`, {
        side,
        hint: 'Use postgres://user:password@host:5432/database?sslmode=require',
      }),
    );
  }
  let parsed: ReturnType<typeof parse>;
  try {
    // TLS settings are ours to interpret (libpq's semantics): the parser would
    // read certificate files eagerly, throw on a missing one, and print a
    // process warning about its own sslmode aliases.
    parsed = parse(uri.replace(/([?&])(ssl[a-z]*|uselibpqcompat)=[^&]*/g, '$1'));
  } catch {
    // The parser's message could echo the URI, password included: say nothing of it.
    return err(migrationError('options', `The ${side} connection URI cannot be parsed`, { side }));
  }
  const query = uri.indexOf('?');
  const params = new URLSearchParams(query >= 0 ? uri.slice(query + 1) : '');
  const sslmode = toSslMode(params.get('sslmode') ?? undefined, side);
  if (sslmode.isErr()) return err(sslmode.error);
  const port = toPort(parsed.port ?? undefined, side);
  if (port.isErr()) return err(port.error);
  const host = parsed.host || 'localhost';
  return ok({
    host,
    port: port.value,
    database: parsed.database || 'postgres',
    username: parsed.user || 'postgres',
    password: parsed.password || undefined,
    sslmode: sslmode.value,
    sslrootcert: params.get('sslrootcert') ?? undefined,
    sslcert: params.get('sslcert') ?? undefined,
    sslkey: params.get('sslkey') ?? undefined,
  });
}

function toSslMode(value: SslMode | boolean | string | undefined, side: 'source' | 'target'): Result<SslMode, MigrationError> {
  if (value === undefined || value === '') return ok('prefer');
  if (value === true || value === 'true') return ok('require');
  if (value === false || value === 'false') return ok('disable');
  if ((SSL_MODES as readonly string[]).includes(value)) return ok(value as SslMode);
  return err(
    migrationError('options', `Unknown sslmode "${value}" for the ${side}`, {
      side,
      hint: `Use one of ${SSL_MODES.join(', ')}.`,
    }),
  );
}

function toPort(value: number | string | undefined, side: 'source' | 'target'): Result<number, MigrationError> {
  if (value === undefined || value === '') return ok(5432);
  const port = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return err(migrationError('options', `The ${side} port "${String(value)}" is not a TCP port`, { side }));
  }
  return ok(port);
}

/** `user@host:port/database`: how a connection is named in messages (never with its password). */
export function describeConnection(config: ConnectionConfig, database: string = config.database): string {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `${config.username}@${host}:${config.port}/${database}`;
}

/** The passwords in whatever was passed as options, for the redactor; never throws. */
export function secretsOf(input: unknown): string[] {
  const fromInput = (value: unknown): string | undefined => {
    try {
      if (typeof value === 'object' && value !== null) {
        const password = (value as { password?: unknown }).password;
        return typeof password === 'string' ? password : undefined;
      }
      const match = typeof value === 'string' ? /^[^:]+:\/\/[^:@/]*:([^@]*)@/.exec(value) : null;
      if (!match?.[1]) return undefined;
      try {
        return decodeURIComponent(match[1]);
      } catch {
        return match[1];
      }
    } catch {
      return undefined;
    }
  };
  try {
    const options = (typeof input === 'object' && input !== null ? input : {}) as { source?: unknown; target?: unknown };
    return [fromInput(options.source), fromInput(options.target)].filter((s): s is string => s !== undefined);
  } catch {
    return [];
  }
}
